"""Tiny random checkpoints of every supported encoder family, written to disk (no hub).

Builds on :mod:`tests.family_zoo` (tokenizers trained on tweets): ``build_checkpoint(path,
family, n_labels=..., id2label=...)`` writes a random sequence classifier of ``family`` and its
fast tokenizer with ``save_pretrained``, so it loads with ``--model DIR`` like a user's model.
``label_swapped_copy`` writes a copy of a checkpoint whose output rows and ``id2label`` are
permuted: the same predictions under other class indices.

Families: BERT, RoBERTa, DistilBERT, ELECTRA, ALBERT, DeBERTa-v2, XLM-R, MPNet and ModernBERT
(BERT-style families share the WordPiece tokenizer; ModernBERT uses the byte-level BPE with
space-led offsets; MPNet a WordPiece vocabulary with ``<s>``/``</s>`` specials).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import family_zoo
import torch

#: family -> the family_zoo tokenizer style it uses
TOKENIZER_STYLE: dict[str, str] = {
    "bert": "bert",
    "roberta": "roberta",
    "distilbert": "bert",
    "electra": "bert",
    "albert": "albert",
    "deberta-v2": "deberta-v2",
    "xlm-roberta": "xlm-roberta",
    "mpnet": "mpnet",
    "modernbert": "gpt2-bytelevel",
}
FAMILIES: tuple[str, ...] = tuple(TOKENIZER_STYLE)


@functools.cache
def tokenizer_for(family: str):
    """The tiny fast tokenizer of ``family``."""
    style = TOKENIZER_STYLE[family]
    if style != "mpnet":
        return family_zoo.tiny_tokenizer(style)
    from transformers import MPNetTokenizer

    vocab = family_zoo._wordpiece_vocab(family_zoo.tweets())
    for special in ("<s>", "<pad>", "</s>", "<unk>", "<mask>"):
        vocab.setdefault(special, len(vocab))
    return MPNetTokenizer(vocab=vocab, do_lower_case=True)


def default_id2label(n_labels: int) -> dict[int, str]:
    """transformers' default names ``LABEL_i``."""
    return {i: f"LABEL_{i}" for i in range(n_labels)}


def model_for(
    family: str,
    tokenizer,
    *,
    n_labels: int = 2,
    id2label: Mapping[int, str] | None = None,
    seed: int = 0,
    **config_kw,
):
    """A random tiny sequence classifier of ``family`` for ``tokenizer`` (eager attention)."""
    import transformers as tf

    id2label = dict(id2label or default_id2label(n_labels))
    labels = {
        "num_labels": n_labels,
        "id2label": id2label,
        "label2id": {v: k for k, v in id2label.items()},
    }
    if family in family_zoo.FAMILIES and family != "gpt2-bytelevel":
        model = family_zoo.tiny_model(family, tokenizer, seed=seed, **labels, **config_kw)
        model.config.id2label, model.config.label2id = labels["id2label"], labels["label2id"]
        return model
    torch.manual_seed(seed)
    common = dict(
        vocab_size=len(tokenizer),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=37,
        pad_token_id=tokenizer.pad_token_id,
        max_position_embeddings=130,
        **labels,
    )
    common.update(config_kw)
    if family == "distilbert":
        for old, new in (
            ("hidden_size", "dim"),
            ("num_hidden_layers", "n_layers"),
            ("num_attention_heads", "n_heads"),
            ("intermediate_size", "hidden_dim"),
        ):
            common[new] = common.pop(old)
        config, cls = tf.DistilBertConfig(**common), tf.DistilBertForSequenceClassification
    elif family == "electra":
        config = tf.ElectraConfig(embedding_size=16, **common)
        cls = tf.ElectraForSequenceClassification
    elif family == "mpnet":
        common["max_position_embeddings"] += 2
        config, cls = tf.MPNetConfig(**common), tf.MPNetForSequenceClassification
    elif family == "modernbert":
        common.update(
            bos_token_id=tokenizer.cls_token_id,
            eos_token_id=tokenizer.sep_token_id,
            cls_token_id=tokenizer.cls_token_id,
            sep_token_id=tokenizer.sep_token_id,
            global_attn_every_n_layers=1,
            local_attention=16,
        )
        config, cls = tf.ModernBertConfig(**common), tf.ModernBertForSequenceClassification
    else:
        raise ValueError(f"unknown family {family!r}: one of {FAMILIES}")
    return cls(config).eval()


def build_checkpoint(
    path: str | Path,
    family: str,
    *,
    n_labels: int = 2,
    id2label: Mapping[int, str] | Sequence[str] | None = None,
    seed: int = 0,
    **config_kw,
) -> Path:
    """Write a tiny random ``family`` classifier and its tokenizer to ``path`` (safetensors)."""
    if id2label is not None and not isinstance(id2label, Mapping):
        id2label = dict(enumerate(id2label))
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    tokenizer = tokenizer_for(family)
    model = model_for(
        family, tokenizer, n_labels=n_labels, id2label=id2label, seed=seed, **config_kw
    )
    model.save_pretrained(path, safe_serialization=True)
    tokenizer.save_pretrained(path)
    return path


def label_swapped_copy(
    src: str | Path, dst: str | Path, order: Sequence[int] | None = None
) -> Path:
    """Copy the checkpoint at ``src`` to ``dst`` with its classes permuted.

    New class ``j`` is old class ``order[j]`` (default: reversed): the classifier's output rows
    (weight and bias of the last layer with ``num_labels`` outputs) and ``id2label`` are
    permuted together, so every text gets the same probability per *name*.
    """
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from captum_ext.influence.features import find_head

    model = AutoModelForSequenceClassification.from_pretrained(src, local_files_only=True)
    n = model.config.num_labels
    order = list(reversed(range(n))) if order is None else list(order)
    _, head = find_head(model, n)
    with torch.no_grad():
        head.weight.copy_(head.weight[order].clone())
        if head.bias is not None:
            head.bias.copy_(head.bias[order].clone())
    old = {int(k): v for k, v in model.config.id2label.items()}
    model.config.id2label = {j: old[i] for j, i in enumerate(order)}
    model.config.label2id = {v: k for k, v in model.config.id2label.items()}
    dst = Path(dst)
    model.save_pretrained(dst, safe_serialization=True)
    AutoTokenizer.from_pretrained(src, local_files_only=True).save_pretrained(dst)
    metrics = Path(src) / "metrics.json"
    if metrics.is_file():
        (dst / "metrics.json").write_text(metrics.read_text(encoding="utf-8"), encoding="utf-8")
    return dst


def write_labelled_csv(path: str | Path, rows: Sequence[tuple[str, str]]) -> Path:
    """A ``text,label`` CSV (header included)."""
    import csv

    path = Path(path)
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["text", "label"])
        w.writerows(rows)
    return path


def read_json(path: str | Path) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


#: Short hand-written tweets of each sentiment (the label and family tests' tiny datasets).
POS_TWEETS = [
    "so happy today",
    "great game tonight",
    "love this song",
    "best day ever",
    "thanks a lot",
    "what a lovely day",
    "i won the prize",
    "amazing show at madrid",
    "good morning all",
    "such a fun party",
    "i really like it",
    "happy birthday mate",
]
NEG_TWEETS = [
    "so sad today",
    "awful game tonight",
    "hate this song",
    "worst day ever",
    "no thanks",
    "what a horrible day",
    "i lost my phone",
    "terrible show in madrid",
    "bad morning again",
    "such a boring party",
    "i really hate it",
    "sick and tired",
]
NEU_TWEETS = [
    "the bus leaves at ten",
    "it is tuesday",
    "meeting at noon",
    "the shop opens at nine",
    "going to the store",
    "reading the news",
    "the train is on time",
    "lunch at one",
    "new phone arrived",
    "watching the game",
    "back at work",
    "the weather report",
]
