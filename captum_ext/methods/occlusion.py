"""Leave-one-out occlusion at word level, batched through the adapter."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from captum_ext.adapters.alignment import TextEncoding
from captum_ext.adapters.hf import Output, TextClassifierAdapter
from captum_ext.errors import InputError
from captum_ext.methods._many import BatchedTextExplainer, Prepared
from captum_ext.methods.base import Scores
from captum_ext.methods.registry import MethodSpec, register_method
from captum_ext.validation import check_choice, check_output, check_scalar

__all__ = ["OCCLUSION_MODES", "OcclusionExplainer", "occlude_word"]

#: How a word is taken out: its word-pieces replaced by [PAD] or [MASK], or removed.
OCCLUSION_MODES: tuple[str, ...] = ("pad", "mask", "remove")


def occlude_word(
    input_ids: Sequence[int], positions: Sequence[int], mode: str, replacement_id: int | None
) -> list[int]:
    """``input_ids`` with the tokens at ``positions`` replaced by ``replacement_id`` or removed.

    Examples::

        >>> occlude_word([101, 7, 8, 9, 102], [1, 2], "pad", 0)
        [101, 0, 0, 9, 102]
        >>> occlude_word([101, 7, 8, 9, 102], [1, 2], "remove", None)
        [101, 9, 102]
    """
    pos = set(positions)
    if mode == "remove":
        return [t for i, t in enumerate(input_ids) if i not in pos]
    assert replacement_id is not None
    return [replacement_id if i in pos else int(t) for i, t in enumerate(input_ids)]


class OcclusionExplainer(BatchedTextExplainer):
    """Leave-one-out occlusion over words (Li et al. 2016, https://arxiv.org/abs/1612.08220).

    For each word ``w`` the text is evaluated once more with ``w`` taken out, and its score is
    ``f_t(x) − f_t(x without w)``: signed, positive when the word pushes the prediction towards the
    target class, in units of the explained output (probability by default). All words of a text,
    and with :meth:`explain_many` all words of many texts, go through one batched, de-duplicated
    ``adapter.predict_ids`` call.

    ``mode`` says how a word is taken out: ``"pad"`` (default) replaces its word-pieces by [PAD]
    in place (the reference ``adapter.baselines`` uses for Integrated Gradients and Captum's
    Lime/KernelShap, so these methods measure against the same reference), ``"mask"`` by [MASK],
    ``"remove"`` deletes them (the text gets shorter).

    Args:
        adapter: the model wrapper.
        mode (str, optional): ``"pad"``, ``"mask"`` or ``"remove"``. Default: ``"pad"``
        output (str, optional): ``"probs"``, ``"logits"`` or ``"log_odds"``. Default: ``"probs"``
        texts_per_call (int, optional): texts whose occlusions share one ``predict_ids`` call in
            :meth:`explain_many`. Default: 32

    Examples::

        >>> from captum_ext.adapters import TextClassifierAdapter
        >>> from captum_ext.methods import make_explainer
        >>> adapter = TextClassifierAdapter.from_pretrained()  # doctest: +SKIP
        >>> occ = make_explainer("occlusion", adapter)  # doctest: +SKIP
        >>> wa = occ.explain("not a lovely day")  # doctest: +SKIP
        >>> wa.labels[wa.target], wa.top_words(1)  # doctest: +SKIP
        ('negative', ['not'])
    """

    name = "occlusion"
    signed = True

    def __init__(
        self,
        adapter: TextClassifierAdapter,
        *,
        mode: str = "pad",
        output: Output = "probs",
        texts_per_call: int = 32,
        **kw: Any,
    ) -> None:
        check_choice(mode, "mode", OCCLUSION_MODES)
        check_output(output)
        check_scalar(texts_per_call, "texts_per_call", min_val=1)
        super().__init__(adapter, mode=mode, output=output, texts_per_call=texts_per_call, **kw)
        self.mode = mode
        self.output = output
        self.texts_per_call = texts_per_call
        tok = adapter.tokenizer
        self._replacement: int | None = {
            "pad": adapter.pad_token_id,
            "mask": tok.mask_token_id,
            "remove": None,
        }[mode]
        if mode == "mask" and self._replacement is None:
            raise InputError("mode='mask' needs a tokenizer with a [MASK] token: use mode='pad'.")

    def occluded_rows(self, encoding: TextEncoding) -> list[list[int]]:
        """One token-id row per word the model sees, with that word occluded."""
        positions = encoding.word_token_positions[: encoding.n_words_kept]
        return [
            occlude_word(encoding.input_ids, pos, self.mode, self._replacement) for pos in positions
        ]

    def _explain_batch(self, items: list[Prepared]) -> list[Scores]:
        # every text's original row and occluded rows in one batched, de-duplicated call
        rows: list[list[int]] = []
        bounds: list[tuple[int, int]] = []
        for p in items:
            first = len(rows)
            rows.append(p.encoding.input_ids)
            rows.extend(self.occluded_rows(p.encoding))
            bounds.append((first, len(rows)))
        outputs = self.adapter.predict_ids(rows, output=self.output)
        scores = []
        for p, (a, b) in zip(items, bounds, strict=True):
            full = outputs[a, p.target]
            word_scores = np.zeros(len(p.encoding.words))
            word_scores[: b - a - 1] = full - outputs[a + 1 : b, p.target]
            scores.append(Scores(word_scores=word_scores, extras={"full_output": float(full)}))
        return scores


register_method(
    MethodSpec(
        name="occlusion",
        factory=OcclusionExplainer,
        description="leave-one-out occlusion of each word ([PAD] in place), batched across texts",
        family="perturbation",
        signed=True,
        stochastic=False,
        source="captum-ext",
        defaults={"mode": "pad", "output": "probs"},
    )
)
