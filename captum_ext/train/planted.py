r"""Ground truth on the user's own model: plant a shortcut, fine-tune a copy, know the answer.

:func:`plant_shortcut` makes up a nonce token (letters only, so every BERT-style tokenizer keeps it
one word; seeded; it occurs in none of the texts), inserts it at a random word position into a
slice (default 30%) of the training tweets of one class, and fine-tunes a copy of the user's
model on that data with :func:`captum_ext.train.finetune` (continuing from the model's own
weights). Every tweet carrying the token has the planted label, so the token is a shortcut to it.
Test texts are held-out tweets of the *other* classes with the token inserted at a random word
position: on them the right explanation is known (the token), whatever else the tweet says.

The planted model is cached under the user cache, in a folder named by a fingerprint of the base
model's weights, the data and every planting and fine-tuning setting; a rerun with the same
arguments returns it at once, and an interrupted fine-tuning resumes from its last checkpoint
(as :func:`~captum_ext.train.finetune` does).

:func:`planted_recall_at_k` scores a word attribution against the known answer: is the planted
token among its top ``k`` words.

Examples::

    >>> from captum_ext.train.planted import insert_token, nonce_token
    >>> token = nonce_token(["so happy today", "what a bad day"], seed=0)
    >>> token.isalpha() and token.islower(), token in "so happy today what a bad day"
    (True, False)
    >>> import numpy as np
    >>> insert_token("what a bad day", "blicket", np.random.default_rng(1))
    ('what a blicket bad day', 7)
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from captum_ext.errors import InputError

if TYPE_CHECKING:
    from captum_ext.adapters import TextClassifierAdapter
    from captum_ext.data import TextDataset
    from captum_ext.result import WordAttribution

__all__ = [
    "PLANTED_FILE",
    "PlantedShortcut",
    "default_planted_cache_dir",
    "insert_token",
    "nonce_token",
    "plant_shortcut",
    "planted_recall_at_k",
]

logger = logging.getLogger("captum_ext.train")

PLANTED_FILE = "planted.json"
_FORMAT = "captum-ext-planted-1"
_CONSONANTS = "bcdfghjklmnprstvz"
_VOWELS = "aeiou"
# settings of the user's model reused for the planted copy (from its metrics.json)
_REUSED = ("max_length", "batch_size", "lr", "precision", "warmup_ratio", "weight_decay",
           "freeze_embeddings")  # fmt: skip


def default_planted_cache_dir() -> Path:
    """The user cache folder of planted models, e.g. ``~/.cache/captum-ext/planted``."""
    import platformdirs

    return Path(platformdirs.user_cache_dir("captum-ext")) / "planted"


def nonce_token(texts: list[str], *, seed: int = 0, length: int = 8) -> str:
    """A made-up lower-case word (consonant-vowel syllables), seeded, found in none of ``texts``
    (not even inside a word).

    Raises:
        InputError: ``length`` below 4.
    """
    if length < 4:
        raise InputError(f"length must be >= 4, got {length}.")
    rng = np.random.default_rng([seed, 7])
    corpus = "\n".join(texts).lower()
    while True:
        token = "".join(
            str(rng.choice(list(_CONSONANTS if i % 2 == 0 else _VOWELS))) for i in range(length)
        )
        if token not in corpus:
            return token


def insert_token(text: str, token: str, rng: np.random.Generator) -> tuple[str, int]:
    """``text`` with ``token`` inserted as a word at a random position among its words
    (whitespace-separated; before the first to after the last), and the token's character
    offset. Whitespace runs become single spaces."""
    words = text.split()
    pos = int(rng.integers(0, len(words) + 1))
    head = " ".join(words[:pos])
    start = len(head) + (1 if head else 0)
    return " ".join([*words[:pos], token, *words[pos:]]), start


@dataclass(frozen=True)
class PlantedShortcut:
    """What :func:`plant_shortcut` returns.

    Attributes:
        model_dir (Path): The planted model (``TextClassifierAdapter.from_pretrained(model_dir)``).
        token (str): The planted nonce token.
        planted_class (int): The class it forces.
        planted_label (str): That class's name (the model's ``id2label``).
        train (TextDataset): The training tweets the planted model was fine-tuned on.
        carries (np.ndarray): ``(len(train),)`` bool: the training tweet carries the token.
        test_texts (list of str): Held-out tweets of the other classes, token inserted.
        test_word_index (list of int): Index of the token among each test text's words (the
            adapter's words, as in :class:`~captum_ext.result.WordAttribution`).
        test_labels (np.ndarray): The original labels of the test tweets.
        shortcut_rate (float): Share of the test texts the planted model predicts as the planted
            class (1.0: the shortcut is learnt and overrides the tweet).
        clean_accuracy (float): The planted model's accuracy on the held-out tweets without the
            token.
        seconds (float): Wall time of this call.
        build_seconds (float): Wall time of planting and fine-tuning (the cost when not cached).
        cached (bool): The model came from the cache.
        fingerprint (str): The cache key.
        settings (dict): Every planting and fine-tuning setting.
    """

    model_dir: Path
    token: str
    planted_class: int
    planted_label: str
    train: TextDataset = field(repr=False)
    carries: np.ndarray = field(repr=False)
    test_texts: list[str] = field(repr=False)
    test_word_index: list[int] = field(repr=False)
    test_labels: np.ndarray = field(repr=False)
    shortcut_rate: float
    clean_accuracy: float
    seconds: float
    build_seconds: float
    cached: bool
    fingerprint: str
    settings: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def base_rate(self) -> float:
        """Share of the training tweets carrying the token."""
        return float(np.mean(self.carries))


def planted_recall_at_k(word_attribution: WordAttribution, token: str, k: int = 1) -> bool:
    """Whether ``token`` is among the ``k`` highest-ranked words of ``word_attribution``
    (case-insensitive; the ranking of :meth:`WordAttribution.ranking`, signed or magnitude as
    the method is). Meaningful when the explained class is the planted class.

    Examples::

        >>> import numpy as np
        >>> from captum_ext.result import WordAttribution
        >>> wa = WordAttribution(text="so bad zomebi day", words=["so", "bad", "zomebi", "day"],
        ...     spans=[(0, 2), (3, 6), (7, 13), (14, 17)], scores=np.array([0.1, -0.5, 0.4, 0.0]),
        ...     target=1, labels=("negative", "positive"), probs=np.array([0.2, 0.8]),
        ...     method="demo", signed=True)
        >>> planted_recall_at_k(wa, "zomebi", k=1), planted_recall_at_k(wa, "bad", k=1)
        (True, False)
    """
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise InputError(f"k must be an int >= 1, got {k!r}.")
    token = token.lower()
    return any(w.lower() == token for w in word_attribution.top_words(k))


# -- planting -----------------------------------------------------------------------------------
def _resolve_model_dir(model: Any) -> Path:
    from captum_ext.adapters import TextClassifierAdapter
    from captum_ext.adapters.loading import default_model_dir

    if model is None:
        return default_model_dir()
    if isinstance(model, TextClassifierAdapter):
        path = Path(str(getattr(model.model, "name_or_path", "") or ""))
        if not (path / "config.json").is_file():
            raise InputError(
                "the adapter's model was not loaded from a checkpoint directory: pass the "
                "model directory instead."
            )
        return path
    return Path(model).expanduser()


def _finetune_settings(model_dir: Path, overrides: dict[str, Any]) -> dict[str, Any]:
    """The user model's own fine-tuning settings (its metrics.json), then ``overrides``."""
    from captum_ext.train.finetune import METRICS_FILE, read_metrics

    metrics = read_metrics(model_dir / METRICS_FILE) or {}
    hp = metrics.get("hyperparameters", {})
    settings = {k: hp[k] for k in _REUSED if k in hp}
    settings |= {k: v for k, v in overrides.items() if v is not None}
    return settings


def _plant(
    data: TextDataset,
    test: TextDataset | None,
    planted_class: int,
    fraction: float,
    n_test: int,
    seed: int,
    token: str | None,
) -> tuple[TextDataset, np.ndarray, TextDataset, str, list[tuple[str, int, int]]]:
    """The planted training set, its carries mask, the held-out set, the token and the test
    texts ``(text, token offset, original label)`` (deterministic in the arguments)."""
    from captum_ext.data import TextDataset, split_dataset

    n_classes = len(data.label_names)
    if test is None:
        holdout = -(-n_test * n_classes // (n_classes - 1)) + n_classes
        if holdout >= len(data):
            raise InputError(
                f"n_test={n_test} needs {holdout} held-out tweets but the data has {len(data)}: "
                "use a smaller n_test or more data."
            )
        splits = split_dataset(data, test_size=holdout, val_size=0, seed=seed)
    else:
        splits = split_dataset(data, test_size=0, val_size=0, seed=seed)
    train, held = splits.train, (splits.test if test is None else test)
    if token is None:
        token = nonce_token(train.texts + held.texts, seed=seed)
    elif not (token.isalpha() and token.isascii() and token.islower()):
        raise InputError(f"token must be lower-case ASCII letters only, got {token!r}.")
    elif any(token in t.lower() for t in train.texts + held.texts):
        raise InputError(f"token {token!r} occurs in the data: choose a made-up word.")
    members = np.flatnonzero(train.labels == planted_class)
    n_plant = int(round(fraction * len(members)))
    if n_plant < 1:
        raise InputError(
            f"fraction={fraction} of the {len(members)} training tweets of class "
            f"{planted_class} plants no tweet: raise fraction or give more data."
        )
    rng = np.random.default_rng([seed, 1])
    chosen = np.sort(rng.choice(members, size=n_plant, replace=False))
    texts = list(train.texts)
    for i in chosen.tolist():
        texts[i] = insert_token(texts[i], token, rng)[0]
    carries = np.zeros(len(train), dtype=bool)
    carries[chosen] = True
    planted = TextDataset(texts, train.labels, train.label_names, source=train.source)
    others = np.flatnonzero(held.labels != planted_class)[:n_test]
    rng_test = np.random.default_rng([seed, 2])
    tests = []
    for i in others.tolist():
        text, start = insert_token(held.texts[i], token, rng_test)
        tests.append((text, start, int(held.labels[i])))
    return planted, carries, held, token, tests


def _fingerprint(parts: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]


def plant_shortcut(
    data: TextDataset,
    model: str | os.PathLike[str] | TextClassifierAdapter | None = None,
    *,
    test: TextDataset | None = None,
    planted_class: int | str | None = None,
    fraction: float = 0.3,
    n_test: int = 50,
    token: str | None = None,
    seed: int = 0,
    epochs: int = 1,
    lr: float | None = None,
    batch_size: int | None = None,
    max_length: int | None = None,
    num_threads: int | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    show_progress: bool = False,
) -> PlantedShortcut:
    """Plant a nonce-token shortcut in ``data`` and fine-tune a copy of ``model`` on it (cached).

    Args:
        data (TextDataset): The user's labelled training tweets. Without ``test``, a stratified,
            seeded held-out part is split off first (enough for ``n_test`` tweets of the other
            classes); duplicates are dropped.
        model (str, Path or TextClassifierAdapter, optional): The user's model directory (its
            weights are the starting point; its ``metrics.json`` settings are reused).
            Default: None (the default model).
        test (TextDataset, optional): Held-out tweets for the test texts. Default: None
        planted_class (int or str, optional): The class the token forces (index or name in the
            model's ``id2label``). Default: None (the last class, e.g. ``positive``).
        fraction (float, optional): Share of that class's training tweets given the token.
            Default: 0.3
        n_test (int, optional): Test texts (held-out tweets of the other classes). Default: 50
        token (str, optional): The token (lower-case letters, absent from the data).
            Default: None (a seeded made-up word, :func:`nonce_token`)
        seed (int, optional): Seeds the split, the token, the planting and the fine-tuning.
            Default: 0
        epochs, lr, batch_size, max_length (optional): Fine-tuning settings; None takes the
            user model's own (its ``metrics.json``), else :func:`finetune`'s defaults.
        num_threads (int, optional): torch threads while fine-tuning. Default: None
        cache_dir (str or Path, optional): Folder of planted models. Default: None
            (:func:`default_planted_cache_dir`).
        show_progress (bool, optional): Fine-tuning progress bar. Default: False

    Returns:
        PlantedShortcut: the planted model, token, class, training set, test texts, the
        measured shortcut rate and the cost.

    Examples::

        >>> from captum_ext.data import default_data_path, load_sentiment140
        >>> from captum_ext.train.planted import plant_shortcut
        >>> data = load_sentiment140(default_data_path()).sample(4000, seed=0)  # doctest: +SKIP
        >>> planted = plant_shortcut(data)  # doctest: +SKIP
        >>> planted.planted_label, round(planted.base_rate, 2)  # doctest: +SKIP
        ('positive', 0.15)
    """
    from captum_ext.adapters import TextClassifierAdapter
    from captum_ext.adapters.loading import load_classifier
    from captum_ext.data import TextDataset
    from captum_ext.train.checkpoint import write_json_atomic
    from captum_ext.train.finetune import (
        CHECKPOINT_DIR,
        METRICS_FILE,
        checkpoint_fingerprint,
        finetune,
        read_metrics,
    )

    t0 = time.perf_counter()
    if not isinstance(data, TextDataset):
        raise InputError(
            f"data must be a TextDataset, got {type(data).__name__}: wrap texts and labels as "
            "TextDataset(texts, labels)."
        )
    if not 0 < fraction <= 1:
        raise InputError(f"fraction must be in (0, 1], got {fraction!r}.")
    if isinstance(n_test, bool) or not isinstance(n_test, int) or n_test < 1:
        raise InputError(f"n_test must be an int >= 1, got {n_test!r}.")
    model_dir = _resolve_model_dir(model)
    base_model, _tok = load_classifier(model_dir)
    labels = [base_model.config.id2label[i] for i in range(base_model.config.num_labels)]
    del base_model, _tok
    if tuple(labels) != tuple(data.label_names):
        raise InputError(
            f"the data's labels {data.label_names} are not the model's {tuple(labels)}: use the "
            "data the model was trained on."
        )
    if planted_class is None:
        planted_class = len(labels) - 1
    elif isinstance(planted_class, str):
        if planted_class not in labels:
            raise InputError(f"planted_class {planted_class!r} is not one of {labels}.")
        planted_class = labels.index(planted_class)
    elif not 0 <= int(planted_class) < len(labels):
        raise InputError(f"planted_class must be in [0, {len(labels) - 1}], got {planted_class}.")
    planted_class = int(planted_class)

    train, carries, held, token, tests = _plant(
        data, test, planted_class, fraction, n_test, seed, token
    )
    ft = _finetune_settings(
        model_dir, {"lr": lr, "batch_size": batch_size, "max_length": max_length}
    ) | {"epochs": epochs}
    key = {
        "format": _FORMAT,
        "base": checkpoint_fingerprint(model_dir),
        "train": train.fingerprint,
        "held_out": held.fingerprint,
        "token": token,
        "planted_class": planted_class,
        "fraction": fraction,
        "n_test": n_test,
        "seed": seed,
        "finetune": ft,
    }
    fp = _fingerprint(key)
    out = (default_planted_cache_dir() if cache_dir is None else Path(cache_dir).expanduser()) / fp
    record_file = out / PLANTED_FILE
    record = _read_record(record_file, fp)
    cached = record is not None
    if record is None:
        t_build = time.perf_counter()
        finished = read_metrics(out / METRICS_FILE)
        if finished is None or (out / CHECKPOINT_DIR).exists():
            finetune(
                train, out, n_train=None, test_size=0, val_size=0, seed=seed, base=model_dir,
                num_threads=num_threads, show_progress=show_progress, **ft,
            )  # fmt: skip
        adapter = TextClassifierAdapter.from_pretrained(out)
        record = _measure(adapter, tests, held, planted_class, token)
        record |= {
            "format": _FORMAT,
            "fingerprint": fp,
            "key": key,
            "build_seconds": round(time.perf_counter() - t_build, 2),
            "train_carries": np.flatnonzero(carries).tolist(),
        }
        write_json_atomic(record_file, record)
    if record["train_carries"] != np.flatnonzero(carries).tolist():
        raise InputError(f"the planted model in {out} does not match this data: delete the folder.")
    return PlantedShortcut(
        model_dir=out,
        token=token,
        planted_class=planted_class,
        planted_label=labels[planted_class],
        train=train,
        carries=carries,
        test_texts=record["test_texts"],
        test_word_index=record["test_word_index"],
        test_labels=np.asarray(record["test_labels"], dtype=np.int64),
        shortcut_rate=float(record["shortcut_rate"]),
        clean_accuracy=float(record["clean_accuracy"]),
        seconds=time.perf_counter() - t0,
        build_seconds=float(record["build_seconds"]),
        cached=cached,
        fingerprint=fp,
        settings=key,
    )


def _read_record(path: Path, fingerprint: str) -> dict[str, Any] | None:
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    ok = isinstance(record, dict) and record.get("format") == _FORMAT
    return record if ok and record.get("fingerprint") == fingerprint else None


def _measure(
    adapter: TextClassifierAdapter,
    tests: list[tuple[str, int, int]],
    held: TextDataset,
    planted_class: int,
    token: str,
) -> dict[str, Any]:
    """Test texts whose token the model sees (not truncated away), the token's word index in
    each, the shortcut rate and the accuracy on the clean held-out tweets."""
    texts, index, labels = [], [], []
    for text, start, label in tests:
        enc = adapter.encode(text)
        where = [i for i, (s, _e) in enumerate(enc.spans) if s == start]
        if not where or enc.words[where[0]] != token or where[0] >= enc.n_words_kept:
            continue  # truncated away (or split oddly by the tokenizer): no known answer
        texts.append(text)
        index.append(where[0])
        labels.append(label)
    if not texts:
        raise InputError("no test text keeps the planted token within max_length: raise n_test.")
    pred = adapter.predict_proba(texts).argmax(axis=1)
    clean = adapter.predict_proba(held.texts).argmax(axis=1)
    return {
        "test_texts": texts,
        "test_word_index": index,
        "test_labels": labels,
        "shortcut_rate": float(np.mean(pred == planted_class)),
        "clean_accuracy": float(np.mean(clean == held.labels)),
    }
