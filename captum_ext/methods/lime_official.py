"""Official LIME (``lime.lime_text.LimeTextExplainer``) through the adapter."""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from captum_ext.adapters.alignment import (
    PAIR_SEPARATOR,
    TextEncoding,
    join_pair,
    words_overlapping,
)
from captum_ext.adapters.hf import TextClassifierAdapter
from captum_ext.errors import InputError
from captum_ext.methods.base import Scores, TextExplainer
from captum_ext.methods.registry import MethodSpec, register_method
from captum_ext.validation import check_scalar

__all__ = ["OfficialLimeExplainer"]


class OfficialLimeExplainer(TextExplainer):
    """LIME (Ribeiro et al. 2016, https://arxiv.org/abs/1602.04938), the official ``lime`` package.

    ``LimeTextExplainer.explain_instance`` with the adapter's batched ``predict_proba`` as
    ``classifier_fn``. LIME's features are ``\\W+``-separated tokens; each feature's weight is
    given to every word of ours that overlaps one of its occurrences (with ``bow=True`` a repeated
    word has one weight, which each occurrence carries). Words LIME does not perturb (punctuation)
    score 0. The intercept, the local prediction and the surrogate's R² are in ``extras``.

    Args:
        adapter: the model wrapper.
        n_samples (int, optional): perturbed texts (``num_samples``). Default: 1000
        kernel_width (float, optional): LIME's kernel width. Default: 25
        bow (bool, optional): LIME's bag-of-words mode. Default: True

    Examples::

        >>> from captum_ext.adapters import TextClassifierAdapter
        >>> from captum_ext.methods import make_explainer
        >>> adapter = TextClassifierAdapter.from_pretrained()  # doctest: +SKIP
        >>> lime = make_explainer("lime-official", adapter, n_samples=500)  # doctest: +SKIP
        >>> lime.explain("what a lovely day", random_state=0).top_words(1)  # doctest: +SKIP
        ['lovely']
    """

    name = "lime-official"
    stochastic = True

    def __init__(
        self,
        adapter: TextClassifierAdapter,
        *,
        n_samples: int = 1000,
        kernel_width: float = 25.0,
        bow: bool = True,
        **kw: Any,
    ) -> None:
        check_scalar(n_samples, "n_samples", min_val=2)
        super().__init__(adapter, n_samples=n_samples, kernel_width=kernel_width, bow=bow, **kw)
        self.n_samples = n_samples
        self.kernel_width = kernel_width
        self.bow = bow

    def _explain(
        self, encoding: TextEncoding, target: int, probs: np.ndarray, random_state: int | None
    ) -> Scores:
        from lime.lime_text import LimeTextExplainer

        # a pair is one string to LIME: both texts joined by PAIR_SEPARATOR, which has no
        # word character (LIME never removes it); predict_proba encodes such a string as the pair
        text = join_pair(encoding.text, encoding.text_pair)
        offset = len(encoding.text) + len(PAIR_SEPARATOR)
        if not [t for t in re.split(r"\W+", text) if t]:
            # official LIME raises "ValueError: low >= high" here
            raise InputError(
                "text has no word LIME can remove (only punctuation, emoji or symbols): "
                "use a gradient method such as --method ig for this text."
            )
        explainer = LimeTextExplainer(
            class_names=list(self.adapter.labels),
            kernel_width=self.kernel_width,
            bow=self.bow,
            random_state=random_state,
        )
        exp = explainer.explain_instance(
            text,
            self.adapter.predict_proba,
            labels=(target,),
            num_features=10_000,
            num_samples=self.n_samples,
        )
        indexed = exp.domain_mapper.indexed_string
        word_scores = np.zeros(len(encoding.words))
        segments = [encoding.word_segment(w) for w in range(len(encoding.words))]
        for feature, weight in exp.as_map()[target]:
            token = indexed.word(feature)
            for pos in np.atleast_1d(indexed.string_position(feature)):
                seg = int(pos) >= offset if encoding.is_pair else 0
                start = int(pos) - offset if seg else int(pos)
                for w in words_overlapping(encoding.spans, start, start + len(token)):
                    if segments[w] == seg:
                        word_scores[w] = weight
        return Scores(
            word_scores=word_scores,
            extras={
                "intercept": float(exp.intercept[target]),
                "local_pred": float(np.ravel(exp.local_pred)[0]),
                "score": float(exp.score[target] if isinstance(exp.score, dict) else exp.score),
                "lime_weights": [[str(w), float(v)] for w, v in exp.as_list(label=target)],
            },
        )


register_method(
    MethodSpec(
        name="lime-official",
        factory=OfficialLimeExplainer,
        description="official LIME (lime package LimeTextExplainer) through the batched adapter",
        family="perturbation",
        signed=True,
        stochastic=True,
        source="lime",
        defaults={"n_samples": 1000},
    )
)
