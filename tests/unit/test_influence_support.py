"""Helpers shared by the influence unit tests (this module holds no tests).

A planted rule: a tweet is positive iff it holds two words from ``POS``, negative iff two from
``NEG``; three neutral words and a unique number make each tweet distinct. A tiny BERT trained on
it for two epochs (about a second on one thread) gives informative, well spread head features.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import make_tiny_bert

POS = "good great happy love nice awesome lovely best".split()
NEG = "bad awful sad hate terrible horrible worst ugly".split()
NEU = "day movie food night today work the a my with".split()


def planted_texts(n: int, seed: int = 0, offset: int = 0) -> tuple[list[str], np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n)
    texts = []
    for i, y in enumerate(labels):
        words = list(rng.choice(POS if y else NEG, 2)) + list(rng.choice(NEU, 3))
        rng.shuffle(words)
        texts.append(" ".join(words) + f" {i + offset}")
    return texts, labels


def make_spread_bert(path: Path, seed: int = 0, scale: float = 10.0) -> Path:
    """A tiny random BERT whose encoder and pooler weights are scaled up, so tokens mix and
    the pooled features of different texts differ clearly (with the default 0.02 init every
    text's pooled output is nearly the same vector: all cosine similarities round to 1)."""
    from transformers import BertForSequenceClassification

    make_tiny_bert(path, seed=seed)
    model = BertForSequenceClassification.from_pretrained(path)
    with torch.no_grad():
        for name, module in model.named_modules():
            if isinstance(module, torch.nn.Linear) and ("encoder" in name or "pooler" in name):
                module.weight.mul_(scale)
    model.save_pretrained(path, safe_serialization=True)
    return path


def train_tiny(
    path: Path,
    texts: list[str],
    labels: np.ndarray,
    epochs: int = 2,
    seed: int = 0,
    lr: float = 1e-3,
) -> Path:
    """Write a tiny BERT to ``path`` and train it on ``texts``/``labels`` (one thread)."""
    from captum_ext.adapters import TextClassifierAdapter

    make_spread_bert(path, seed=seed)
    adapter = TextClassifierAdapter.from_pretrained(path)
    model = adapter.model.train()
    torch.manual_seed(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=lr)
    rows, _ = adapter._ids_for(texts)
    y = torch.as_tensor(labels)
    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        order = rng.permutation(len(texts))
        for s in range(0, len(order), 32):
            batch = order[s : s + 32]
            ids, mask = adapter._pad([rows[i] for i in batch])
            logits = model(input_ids=ids, attention_mask=mask).logits
            loss = torch.nn.functional.cross_entropy(logits, y[batch])
            opt.zero_grad()
            loss.backward()
            opt.step()
    model.eval()
    model.save_pretrained(path, safe_serialization=True)
    return path


@pytest.fixture(autouse=True)
def one_thread():
    """Two torch threads spin-wait badly on a shared 2-core machine; one is much faster."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


_PLANTED: dict[str, object] = {}


@pytest.fixture(scope="session")
def planted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """A tiny BERT trained on 300 planted tweets, with 15 labels flipped for auditing.

    Keys: ``dir``, ``texts``, ``labels`` (clean), ``noisy``, ``flipped`` (bool mask),
    ``held_out`` (60 new planted tweets).
    """
    if not _PLANTED:
        before = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            texts, labels = planted_texts(300, seed=0)
            path = train_tiny(tmp_path_factory.mktemp("planted_bert"), texts, labels)
        finally:
            torch.set_num_threads(before)
        rng = np.random.default_rng(1)
        flipped = np.zeros(len(texts), dtype=bool)
        flipped[rng.choice(len(texts), 15, replace=False)] = True
        held_out, _ = planted_texts(60, seed=7, offset=1000)
        _PLANTED.update(
            dir=path,
            texts=texts,
            labels=labels,
            noisy=np.where(flipped, 1 - labels, labels),
            flipped=flipped,
            held_out=held_out,
        )
    return _PLANTED
