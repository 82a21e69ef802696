r"""Robustness to meaning-preserving edits: how much of the top-k survives when the text gets an
@mention in front, a URL or repeated punctuation at the end (the behaviour suite's INV edits,
:mod:`captum_ext.behaviour.templates`), where the edit keeps the predicted class.

The value is the Jaccard overlap of the original words in the top-k of the original explanation
and of the edited text's explanation (the edit's own words left out), k = min(5, max(1, n // 3))
for n seen words; higher is better. An edit that changes the prediction is not used (the value
is then missing). Alvarez-Melis & Jaakkola 2018, "On the Robustness of Interpretability Methods",
https://arxiv.org/abs/1806.08049; Ribeiro et al. 2020 (CheckList INV) for the edits.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from captum_ext.behaviour.templates import add_mention, add_url
from captum_ext.metrics.protocol import Variant, VariantMetric, register_metric

EDITS: tuple[str, ...] = ("mention", "url", "punctuation")


def edit_text(text: str, edit: str, rng: np.random.Generator) -> tuple[str, int]:
    """The edited text and where the original starts in it (edits only add a prefix or suffix).

    Examples::

        >>> edit_text("so good", "punctuation", np.random.default_rng(0))
        ('so good !!!', 0)
    """
    if edit == "mention":
        new = add_mention(text, rng)
        return new, len(new) - len(text)
    if edit == "url":
        return add_url(text, rng), 0
    if edit == "punctuation":
        return f"{text} !!!", 0
    raise ValueError(f"unknown edit {edit!r}")


def top_k_size(n_words: int) -> int:
    """k of the robustness overlap: a third of the words, between 1 and 5."""
    return min(5, max(1, n_words // 3))


def mapped_top_k(original: Any, edited: Any, offset: int) -> tuple[set[int], set[int]]:
    """Top-k original word indices of both explanations (edited words mapped back by span)."""
    by_span = {span: i for i, span in enumerate(original.spans)}
    seen = original.seen_words()
    k = top_k_size(len(seen))
    imp = original.importance()
    top_a = {int(i) for i in seen[np.argsort(-imp[seen], kind="stable")][:k]}
    ev = edited.importance()
    mapped = []
    for j in edited.seen_words():
        s, e = edited.spans[int(j)]
        i = by_span.get((s - offset, e - offset))
        if i is not None and i in set(seen.tolist()):
            mapped.append((float(ev[int(j)]), int(j), i))
    mapped.sort(key=lambda t: (-t[0], t[1]))
    top_b = {i for _, _, i in mapped[:k]}
    return top_a, top_b


class Robustness(VariantMetric):
    name = "robustness"
    label = "top-k kept under edits ↑"
    family = "robustness"
    higher_is_better = True
    description = (
        "Jaccard overlap of the top words before and after an edit that keeps meaning and "
        "prediction (@mention, URL, repeated punctuation)"
    )
    reference = "Alvarez-Melis & Jaakkola 2018; CheckList INV edits (Ribeiro et al. 2020)"

    def variants(
        self, text: str, target: int, probs: np.ndarray, settings: Mapping[str, Any], seed: int
    ) -> list[Variant]:
        rng = np.random.default_rng(seed)
        edit = EDITS[int(rng.integers(len(EDITS)))]
        new, offset = edit_text(text, edit, rng)
        return [Variant(f"edit:{edit}", new, target, offset=offset)]

    def score(self, original: Any, variants: Mapping[str, Any]) -> float:
        names = [n for n in variants if n.startswith("edit:")]
        if not names:
            return float("nan")
        edited = variants[names[0]]
        if edited.predicted != original.predicted:
            return float("nan")  # the edit changed the prediction: not meaning-preserving here
        offset = int(edited.extras.get("variant_offset", 0))
        a, b = mapped_top_k(original, edited, offset)
        union = a | b
        return len(a & b) / len(union) if union else float("nan")


register_metric(Robustness())
