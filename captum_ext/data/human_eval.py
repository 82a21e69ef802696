"""How good is a sentiment model on human judgements, not only on Sentiment140's emoticon labels?

Sentiment140 labels a tweet by the emoticon that was stripped from it (distant supervision), so
its held-out accuracy measures agreement with emoticons, which are noisy. Two further test sets:

1. **Hand-labelled fixture** (``captum_ext/data/human_labels.csv``): 300 tweets of the shared
   Sentiment140 sample, 150 from each file, drawn at random (seed 13) from the held-out test split
   of the default fine-tune (seed 0, 2,000 test tweets), so the default model never trained on
   them. One engineer read each tweet and labelled it ``positive``, ``negative`` or ``neither``
   (no clear sentiment, mixed, sarcasm that cannot be resolved, not English, spam) in batches of
   50, in a shuffled order that hid which file the tweet came from, before any model prediction
   was seen. 193 tweets got a polarity (101 negative, 92 positive), 107 ``neither``; the hand
   label agrees with the emoticon label on 184 of the 193 (95.3%). The file holds references,
   not text: ``file,line,sha256_12,label`` (the line number in ``positive.txt`` or
   ``negative.txt``, 1-based, and the first 12 hex digits of the SHA-256 of the stripped line);
   the tweets are read from the data folder at run time and every hash is checked.
2. **Lexicon-agreement set**: tweets whose emoticon label agrees with the polarity of VADER
   (Hutto and Gilbert, 2014; a human-rated lexicon with rules for social-media text, the
   optional ``vaderSentiment`` package) with a compound score of at least
   :data:`LEXICON_THRESHOLD` in magnitude. Two independent noisy signals that agree are far
   more often right: on the hand-labelled fixture, 87 of the 98 tweets in this set got a
   polarity by hand and 86 of those agree with it. Tweets the model was trained on are
   left out, and the rest are taken in the order of the SHA-256 of their text, so two models
   with different training sets are scored on (nearly) the same tweets.

:func:`evaluate_model` reports the accuracy of a model on the emoticon-labelled held-out split of
its fine-tune, on the fixture and on the lexicon set, each with its count and a 95% Wilson
interval. Labels are matched to the model's classes through its ``id2label``
(:class:`~captum_ext.labels.LabelModel`), never by class index.

Examples::

    >>> from captum_ext.data.human_eval import load_human_labels
    >>> rows = load_human_labels()  # doctest: +SKIP
    >>> len(rows), sum(r.label != "neither" for r in rows)  # doctest: +SKIP
    (300, 193)
"""

from __future__ import annotations

import csv
import hashlib
import html
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from captum_ext.data.sentiment140 import TextDataset, default_data_path, load_sentiment140
from captum_ext.errors import DataError, InputError

__all__ = [
    "HUMAN_LABELS_FILE",
    "LEXICON_THRESHOLD",
    "PARTS",
    "HumanLabel",
    "evaluate_model",
    "format_accuracy_lines",
    "human_labelled_dataset",
    "lexicon_agreement_set",
    "lexicon_scores",
    "load_human_labels",
    "read_human_labels",
    "text_hash",
    "wilson_interval",
]

#: the hand-labelled fixture shipped with the package
HUMAN_LABELS_FILE = Path(__file__).with_name("human_labels.csv")
#: |VADER compound| a tweet's lexicon polarity needs to count (VADER's own cut-off is 0.05)
LEXICON_THRESHOLD = 0.5
#: the lexicon-agreement set's default size (half positive, half negative)
LEXICON_N = 2000
#: the parts :func:`evaluate_model` reports
PARTS = ("emoticon", "human", "lexicon")
_HAND_LABELS = ("negative", "positive", "neither")
_FILES = {"negative.txt": "negative", "positive.txt": "positive"}
_COLUMNS = ["file", "line", "sha256_12", "label"]
_HASH_CHARS = 12


@dataclass(frozen=True)
class HumanLabel:
    """One row of the hand-labelled fixture, with its tweet read from the data folder."""

    file: str  #: ``positive.txt`` or ``negative.txt``
    line: int  #: 1-based line number in ``file``
    sha: str  #: the first 12 hex digits of the SHA-256 of ``text``
    label: str  #: the hand label: ``positive``, ``negative`` or ``neither``
    text: str = ""  #: the tweet (the stripped line)

    @property
    def emoticon_label(self) -> str:
        """Sentiment140's label of the tweet (from its file): ``positive`` or ``negative``."""
        return _FILES[self.file]


def text_hash(text: str) -> str:
    """The fixture's hash of a tweet: the first 12 hex digits of the SHA-256 of its UTF-8 bytes.

    Examples::

        >>> from captum_ext.data.human_eval import text_hash
        >>> text_hash("so happy")
        '3e5430f8ff57'
    """
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:_HASH_CHARS]


def read_human_labels(path: str | os.PathLike[str] = HUMAN_LABELS_FILE) -> list[HumanLabel]:
    """The rows of a fixture CSV (``file,line,sha256_12,label``), without their texts.

    Raises:
        DataError: a missing file, another header, or a malformed row (named by its line).
    """
    path = Path(path)
    try:
        with path.open(encoding="utf-8", newline="") as fh:
            rows = list(csv.reader(fh))
    except (OSError, UnicodeDecodeError) as e:
        raise DataError(f"cannot read the hand-labelled fixture ({e}).", path=str(path)) from None
    if not rows or rows[0] != _COLUMNS:
        raise DataError(f"the header must be {','.join(_COLUMNS)}.", path=str(path))
    out: list[HumanLabel] = []
    seen: set[tuple[str, int]] = set()
    for n, row in enumerate(rows[1:], start=2):
        ok = len(row) == 4 and row[0] in _FILES and row[1].isdigit() and int(row[1]) >= 1
        ok = ok and len(row[2]) == _HASH_CHARS and row[3] in _HAND_LABELS
        if not ok:
            raise DataError(
                f"line {n} is not FILE,LINE,HASH,LABEL (FILE positive.txt or negative.txt, "
                f"LABEL one of {', '.join(_HAND_LABELS)}): {','.join(row)!r}.",
                path=str(path),
            )
        key = (row[0], int(row[1]))
        if key in seen:
            raise DataError(f"line {n} repeats {row[0]} line {row[1]}.", path=str(path))
        seen.add(key)
        out.append(HumanLabel(row[0], int(row[1]), row[2], row[3]))
    return out


def load_human_labels(
    data: str | os.PathLike[str] | None = None,
    *,
    path: str | os.PathLike[str] = HUMAN_LABELS_FILE,
) -> list[HumanLabel]:
    """The hand-labelled fixture with its tweets read from the Sentiment140 folder ``data``.

    Args:
        data (str or path, optional): the folder with ``positive.txt`` and ``negative.txt``
            that the fixture's line numbers refer to. Default: :func:`default_data_path`
        path (str or path, optional): the fixture CSV. Default: :data:`HUMAN_LABELS_FILE`

    Raises:
        DataError: ``data`` is no such folder, a line is missing, or a tweet's hash differs (the
            data changed: the fixture's line numbers no longer point at the labelled tweets).
    """
    rows = read_human_labels(path)
    root = Path(default_data_path() if data is None else data).expanduser()
    lines: dict[str, list[str]] = {}
    for name in sorted({r.file for r in rows}):
        try:
            content = (root / name).read_bytes().decode("utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise DataError(
                f"the hand-labelled tweets are read from the Sentiment140 sample folder "
                f"(positive.txt and negative.txt, UTF-8): cannot read {name} ({e}).",
                path=str(root),
            ) from None
        lines[name] = content.split("\n")
    out: list[HumanLabel] = []
    bad: list[str] = []
    for r in rows:
        file_lines = lines[r.file]
        text = file_lines[r.line - 1].strip() if r.line <= len(file_lines) else ""
        if text_hash(text) != r.sha:
            bad.append(f"{r.file}:{r.line}")
        out.append(HumanLabel(r.file, r.line, r.sha, r.label, text))
    if bad:
        raise DataError(
            f"{len(bad)} of the {len(rows)} hand-labelled tweets differ from the fixture's "
            f"hashes (first: {bad[0]}): the fixture needs the Sentiment140 sample it was made "
            "from (../shared/data/sentiment140).",
            path=str(root),
        )
    return out


def human_labelled_dataset(rows: Sequence[HumanLabel]) -> TextDataset:
    """The rows with a polarity (``neither`` left out) as a negative/positive :class:`TextDataset`.

    The labels are data labels (0 = negative, 1 = positive); align them to a model with
    :meth:`captum_ext.labels.LabelModel.align`, never by index.
    """
    kept = [r for r in rows if r.label != "neither"]
    return TextDataset(
        [r.text for r in kept],
        np.array([int(r.label == "positive") for r in kept], dtype=np.int64),
        ("negative", "positive"),
        source=str(HUMAN_LABELS_FILE),
    )


def _vader() -> Any:
    try:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer
    except ImportError:
        raise InputError(
            "the lexicon-agreement set needs the vaderSentiment package: pip install "
            "vaderSentiment (or pip install 'captum-ext[dev]'), or leave the set out "
            "(--lexicon-n 0)."
        ) from None
    return SentimentIntensityAnalyzer()


def lexicon_scores(texts: Sequence[str], analyzer: Any = None) -> np.ndarray:
    """VADER's compound polarity of each text, in ``[-1, 1]`` (HTML entities such as ``&amp;``,
    left in Sentiment140's text, are decoded first).

    Raises:
        InputError: ``vaderSentiment`` is not installed (the message says how to install it).
    """
    sia = analyzer if analyzer is not None else _vader()
    return np.array(
        [sia.polarity_scores(html.unescape(t))["compound"] for t in texts], dtype=np.float64
    )


def lexicon_agreement_set(
    ds: TextDataset,
    *,
    n: int = LEXICON_N,
    threshold: float = LEXICON_THRESHOLD,
    exclude: set[str] | frozenset[str] = frozenset(),
) -> TextDataset:
    """Up to ``n`` tweets of ``ds`` (half of each label) whose label agrees with VADER's polarity.

    A tweet agrees when its compound score is ``>= threshold`` for a positive label or
    ``<= -threshold`` for a negative one. Tweets are scanned in the order of the SHA-256 of their
    text (independent of the data's order and of any model), skipping those whose
    :func:`_key` is in ``exclude`` (a model's training tweets), until each label has ``n // 2``.

    Args:
        ds (TextDataset): tweets with the data labels ``negative`` and ``positive``.
        n (int, optional): the set's size (fewer when the data runs out). Default: 2000
        threshold (float, optional): the |compound| a polarity needs. Default: 0.5
        exclude (set of str, optional): normalised texts (:func:`_key`) to leave out.

    Raises:
        InputError: ``ds`` has no negative and positive labels, or a bad ``n``/``threshold``.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 2:
        raise InputError(f"the lexicon set's size must be an int >= 2, got {n!r}.")
    if not 0 < threshold < 1:
        raise InputError(f"the lexicon threshold must be in (0, 1), got {threshold!r}.")
    names = [name.lower() for name in ds.label_names]
    if "negative" not in names or "positive" not in names:
        raise InputError(
            f"the lexicon-agreement set needs negative and positive tweets, got labels "
            f"{ds.label_names}."
        )
    neg, pos = names.index("negative"), names.index("positive")
    sia = _vader()
    order = sorted(range(len(ds)), key=lambda i: hashlib.sha256(ds.texts[i].encode()).digest())
    want = {neg: n // 2, pos: n - n // 2}
    picked: list[int] = []
    for i in order:
        label = int(ds.labels[i])
        if want.get(label, 0) <= 0 or _key(ds.texts[i]) in exclude:
            continue
        score = float(lexicon_scores([ds.texts[i]], sia)[0])
        if (score >= threshold and label == pos) or (score <= -threshold and label == neg):
            picked.append(i)
            want[label] -= 1
            if not any(want.values()):
                break
    sub = ds.subset(picked)
    return TextDataset(
        sub.texts, (sub.labels == pos).astype(np.int64), ("negative", "positive"), ds.source
    )


def _key(text: str) -> str:
    """A tweet as the splits compare it: lower-cased, whitespace collapsed."""
    return " ".join(text.lower().split())


def wilson_interval(correct: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The 95% Wilson score interval of ``correct / n``.

    Examples::

        >>> from captum_ext.data.human_eval import wilson_interval
        >>> [round(x, 3) for x in wilson_interval(80, 100)]
        [0.711, 0.867]
    """
    if n == 0:
        return (math.nan, math.nan)
    p = correct / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def _score(adapter: Any, ds: TextDataset, label_map: Any) -> dict[str, Any]:
    """Accuracy of ``adapter`` on ``ds`` (data labels mapped onto the model's classes by name)."""
    from captum_ext.labels import LabelModel

    aligned = LabelModel.of(adapter, label_map).align(ds)
    if len(aligned) == 0:
        return {"accuracy": None, "n": 0, "correct": 0, "ci95": None}
    pred = np.asarray(adapter.predict_proba(aligned.texts)).argmax(-1)
    correct = int((pred == aligned.labels).sum())
    lo, hi = wilson_interval(correct, len(aligned))
    per_class = {}
    for i, name in enumerate(aligned.label_names):
        rows = aligned.labels == i
        if rows.any():
            per_class[name] = {"n": int(rows.sum()), "accuracy": float((pred[rows] == i).mean())}
    return {
        "accuracy": correct / len(aligned),
        "n": len(aligned),
        "correct": correct,
        "ci95": [round(lo, 4), round(hi, 4)],
        "per_class": per_class,
    }


def evaluate_model(
    adapter: Any,
    *,
    model_dir: str | os.PathLike[str] | None = None,
    data: str | os.PathLike[str] | None = None,
    label_map: str | Mapping[str, Any] | None = None,
    parts: Sequence[str] = PARTS,
    fixture: str | os.PathLike[str] = HUMAN_LABELS_FILE,
    lexicon_n: int = LEXICON_N,
    lexicon_threshold: float = LEXICON_THRESHOLD,
) -> dict[str, Any]:
    """A model's accuracy on emoticon, hand and lexicon-agreement labels of Sentiment140 tweets.

    Args:
        adapter: a :class:`~captum_ext.adapters.TextClassifierAdapter` (anything with
            ``predict_proba(texts)`` and ``labels``) whose classes include negative and positive
            (by name, alias or ``label_map``).
        model_dir (str or path, optional): the model's folder; its ``metrics.json`` from
            ``captum-ext finetune`` tells the held-out split and the training tweets (left out
            of the hand and lexicon sets). Default: None (training tweets unknown: the
            emoticon part is skipped and nothing is left out, with a note)
        data (str or path, optional): the Sentiment140 sample folder. Default:
            :func:`default_data_path`
        label_map (str or mapping, optional): ``--label-map`` for models whose class names do
            not say which is negative and positive. Default: None
        parts (sequence of str, optional): which of ``emoticon`` (the held-out split of the
            model's fine-tune, 2,000 tweets for the default model), ``human`` and ``lexicon`` to
            score; the others are None. Default: all three
        fixture (str or path, optional): the hand-labelled CSV (``file,line,sha256_12,label``,
            see :func:`read_human_labels`). Default: :data:`HUMAN_LABELS_FILE`
        lexicon_n (int, optional): the lexicon-agreement set's size. Default: 2000
        lexicon_threshold (float, optional): the |VADER compound| it needs. Default: 0.5

    Returns:
        dict: ``emoticon_test``, ``human`` and ``lexicon`` (each ``accuracy``, ``n``,
        ``correct``, ``ci95`` and ``per_class``, or None with a reason in ``notes``), plus the
        fixture's counts and agreement with the emoticon labels and the ``notes``.

    Raises:
        InputError: the model has no negative or positive class, an unknown part, the lexicon
            part without ``vaderSentiment`` installed, or unreadable data.
        DataError: the data is not the sample the fixture was made from.
    """
    from captum_ext.labels import LabelModel
    from captum_ext.train import model_splits

    unknown = [p for p in parts if p not in PARTS]
    if unknown or not parts:
        raise InputError(
            f"parts must be some of {', '.join(PARTS)}, got {', '.join(map(str, parts)) or 'none'}."
        )
    lm = LabelModel.of(adapter, label_map)
    lm.concept("negative"), lm.concept("positive")  # fail early, naming --label-map
    if "lexicon" in parts:
        _vader()  # installed? (before any work)
    data_path = Path(default_data_path() if data is None else data)
    notes: list[str] = []
    report: dict[str, Any] = {
        "model": None if model_dir is None else str(model_dir),
        "data": str(data_path),
        "classes": list(lm.labels),
    }
    train_keys: set[str] | None = None
    test: TextDataset | None = None
    if model_dir is not None and (Path(model_dir) / "metrics.json").is_file():
        try:
            train, test = model_splits(model_dir)
            train_keys = {_key(t) for t in train.texts}
        except InputError as e:
            notes.append(f"the model's splits could not be rebuilt ({e})")
    else:
        notes.append(
            "no metrics.json from `captum-ext finetune` for this model: its emoticon held-out "
            "split and training tweets are unknown (none left out of the hand and lexicon sets)"
        )
    report["emoticon_test"] = None
    if "emoticon" in parts and test is not None:
        report["emoticon_test"] = _score(adapter, test, label_map)

    report["human"] = None
    if "human" in parts:
        report["human"] = _human_part(adapter, data_path, fixture, train_keys, label_map, notes)

    report["lexicon"] = None
    if "lexicon" in parts:
        lex = lexicon_agreement_set(
            load_sentiment140(data_path),
            n=lexicon_n,
            threshold=lexicon_threshold,
            exclude=train_keys or set(),
        )
        report["lexicon"] = _score(adapter, lex, label_map)
        report["lexicon"].update({"threshold": lexicon_threshold, "requested": lexicon_n})
    report["notes"] = notes
    return report


PART_NAMES = {
    "emoticon_test": "emoticon labels, held-out split",
    "human": "hand labels (positive/negative rows)",
    "lexicon": "emoticon + VADER lexicon agree",
}


def format_accuracy_lines(report: dict[str, Any], *, show_skipped: bool = False) -> list[str]:
    """One line per part of an :func:`evaluate_model` report: its accuracy, counts and 95% CI
    (the ``evaluate`` command and ``benchmarks/eval_default_model.py`` print these).

    Examples::

        >>> part = {"accuracy": 0.9, "correct": 9, "n": 10, "ci95": [0.6, 0.98]}
        >>> format_accuracy_lines({"emoticon_test": part, "human": None, "lexicon": None})
        ['emoticon labels, held-out split        accuracy 0.900  (9/10, 95% CI 0.600-0.980)']
    """
    lines = []
    for key, name in PART_NAMES.items():
        part = report.get(key)
        if part is None or part.get("accuracy") is None:
            if show_skipped:
                lines.append(f"{name:<38} skipped")
            continue
        lo, hi = part["ci95"]
        lines.append(
            f"{name:<38} accuracy {part['accuracy']:.3f}  "
            f"({part['correct']}/{part['n']}, 95% CI {lo:.3f}-{hi:.3f})"
        )
    return lines


def _human_part(
    adapter: Any,
    data_path: Path,
    fixture: str | os.PathLike[str],
    train_keys: set[str] | None,
    label_map: Any,
    notes: list[str],
) -> dict[str, Any]:
    rows = load_human_labels(data_path, path=fixture)
    trained = [r for r in rows if train_keys is not None and _key(r.text) in train_keys]
    kept = [r for r in rows if r not in trained]
    if trained:
        notes.append(
            f"{len(trained)} hand-labelled tweets are in the model's training set and are left out"
        )
    polar = [r for r in kept if r.label != "neither"]
    part = _score(adapter, human_labelled_dataset(kept), label_map)
    part.update(
        {
            "fixture_rows": len(rows),
            "left_out_trained": len(trained),
            "neither": sum(r.label == "neither" for r in kept),
            "agreement_with_emoticon": (
                sum(r.label == r.emoticon_label for r in polar) / len(polar) if polar else None
            ),
        }
    )
    return part
