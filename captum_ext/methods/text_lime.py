"""TextLime in the registry: ``lime`` (words), ``lime-ngram`` (words and n-grams), ``lime-tree``."""

from __future__ import annotations

from typing import Any

import numpy as np

from captum_ext.adapters.alignment import TextEncoding
from captum_ext.adapters.hf import TextClassifierAdapter
from captum_ext.attr.text_lime import TextLime
from captum_ext.methods.base import Scores, TextExplainer
from captum_ext.methods.registry import MethodSpec, register_method
from captum_ext.validation import check_scalar

__all__ = ["TextLimeExplainer"]


class TextLimeExplainer(TextExplainer):
    """:class:`~captum_ext.attr.TextLime` behind the shared explainer interface.

    Word scores are LIME's weights (each word carries its feature's weight plus an equal share of
    the n-grams it belongs to); ``extras`` hold everything LIME knows: ``lime_weights`` (every
    feature by decreasing |weight|), ``ngram_weights``, ``features`` (with approximate 95%
    intervals for linear surrogates, importances for trees), ``intercept``, ``local_pred`` (the
    surrogate at the original text) vs ``model_pred`` (the model), ``score`` (weighted R²),
    ``surrogate`` (the one used; with ``surrogate="auto"`` also ``surrogate_fidelity``, the
    held-out R² of every candidate), ``n_samples``, ``n_evaluations`` and, for trees,
    ``tree_text`` and ``decision_path``.

    Args:
        adapter: the model wrapper.
        n_samples (int, optional): neighbourhood size. Default: 1000
        surrogate (str, optional): ``"ridge"``, ``"ols"``, ``"lasso"``, ``"elastic_net"``,
            ``"tree"`` or ``"auto"``. Default: ``"ridge"``
        lime (TextLime, optional): a configured TextLime to use as is (other TextLime settings
            are then ignored). Default: None
        show_progress (bool, optional): progress bar over the model's batches. Default: False
        **lime_settings: any other :class:`~captum_ext.attr.TextLime` argument (``max_ngram``,
            ``bow``, ``units``, ``perturbation``, ``sampler``, ``output``, ``kernel_width``,
            ``adaptive``, ``feature_selection``, ``num_features``, ``max_depth`` ...).

    Examples::

        >>> from captum_ext.adapters import TextClassifierAdapter
        >>> from captum_ext.methods import make_explainer
        >>> adapter = TextClassifierAdapter.from_pretrained()  # doctest: +SKIP
        >>> lime = make_explainer("lime-ngram", adapter)  # doctest: +SKIP
        >>> wa = lime.explain("not bad at all", random_state=0)  # doctest: +SKIP
        >>> wa.extras["ngram_weights"][0][0]  # the strongest n-gram  # doctest: +SKIP
        'not bad'
    """

    name = "lime"
    stochastic = True

    def __init__(
        self,
        adapter: TextClassifierAdapter,
        *,
        n_samples: int = 1000,
        surrogate: str = "ridge",
        lime: TextLime | None = None,
        show_progress: bool = False,
        name: str | None = None,
        aggregation: str = "sum",
        precision: str | None = None,
        **lime_settings: Any,
    ) -> None:
        check_scalar(n_samples, "n_samples", min_val=1)
        if lime is None:
            lime = TextLime(adapter, interpretable_model=surrogate, **lime_settings)
        super().__init__(
            adapter,
            aggregation=aggregation,
            precision=precision,
            n_samples=n_samples,
            **lime.settings(),
        )
        if name is not None:
            self.name = name
        self.lime = lime
        self.n_samples = int(n_samples)
        self.show_progress = show_progress

    def _explain(
        self, encoding: TextEncoding, target: int, probs: np.ndarray, random_state: int | None
    ) -> Scores:
        result, word_scores = self.lime.explain_encoding(
            encoding,
            target,
            n_samples=self.n_samples,
            random_state=random_state,
            show_progress=self.show_progress,
        )
        return Scores(word_scores=word_scores, extras=result.to_extras())


def _factory(name: str, **fixed: Any):
    def make(adapter: TextClassifierAdapter, **settings: Any) -> TextLimeExplainer:
        return TextLimeExplainer(adapter, name=name, **{**fixed, **settings})

    make.__name__ = f"make_{name.replace('-', '_')}"
    return make


register_method(
    MethodSpec(
        name="lime",
        factory=_factory("lime"),
        description="TextLime: LIME over words as a Captum attribution (ridge, low-variance sampler)",
        family="perturbation",
        signed=True,
        stochastic=True,
        source="captum-ext",
        defaults={"n_samples": 1000},
    )
)
register_method(
    MethodSpec(
        name="lime-ngram",
        factory=_factory("lime-ngram", max_ngram=2),
        description="TextLime with word and bigram features (presence of all their words)",
        family="perturbation",
        signed=True,
        stochastic=True,
        source="captum-ext",
        defaults={"n_samples": 1000, "max_ngram": 2},
    )
)
register_method(
    MethodSpec(
        name="lime-tree",
        factory=_factory("lime-tree", surrogate="tree"),
        description="TextLime with a decision-tree surrogate (decision path, text dump, plot)",
        family="perturbation",
        signed=True,
        stochastic=True,
        source="captum-ext",
        defaults={"n_samples": 1000, "surrogate": "tree"},
    )
)
