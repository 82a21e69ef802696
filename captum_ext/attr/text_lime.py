r"""TextLime: LIME for text classifiers as a Captum attribution, over words and n-grams.

The algorithm (:class:`TextLime`) and its face in the method registry
(:class:`TextLimeExplainer`: ``lime``, ``lime-ngram``, ``lime-tree``) live here together.
"""

from __future__ import annotations

import inspect
import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from captum._utils.models.model import Model
from captum.attr import LimeBase
from torch import Tensor

from captum_ext.adapters.alignment import TextEncoding, special_token_ids, token_words
from captum_ext.attr.perturbation import (
    FeatureSpace,
    Neighbourhood,
    distance_function,
    expected_distinct_official,
    level_weights,
    lime_kernel,
    lime_units,
    official_level_mass,
    sample_kernel,
    sample_lime,
)
from captum_ext.attr.surrogates import LinearSurrogate, TreeSurrogate, make_surrogate, weighted_r2
from captum_ext.errors import InputError
from captum_ext.methods._many import BatchedTextExplainer, Prepared
from captum_ext.methods.base import Scores
from captum_ext.methods.registry import MethodSpec, register_method
from captum_ext.validation import check_choice, check_output, check_scalar

if TYPE_CHECKING:
    from captum_ext.adapters.hf import Output, TextClassifierAdapter
    from captum_ext.result import WordAttribution

__all__ = ["LimeResult", "TextLime", "TextLimeExplainer"]

PERTURBATIONS: tuple[str, ...] = ("remove", "mask", "unk", "pad")
SAMPLERS: tuple[str, ...] = ("kernel", "lime")
UNITS: tuple[str, ...] = ("words", "lime")
ESTIMATORS: tuple[str, ...] = ("greg", "direct")
ROW_BUDGETS: tuple[str | None, ...] = ("official", None)
#: the pairwise working model of the GREG estimator has d (d - 1) / 2 terms: above this many
#: base features the direct fit is used
GREG_MAX_FEATURES = 60
AUTO_CANDIDATES: tuple[str, ...] = ("ridge", "lasso", "elastic_net", "tree")


@dataclass
class LimeResult:
    """Everything one TextLime explanation computed (the text-level extras come from here).

    Attributes:
        feature_names: surrogate features: base features (words), then n-grams.
        weights: the surrogate's weight of each feature (tree: decision-path contributions).
        intercept: the surrogate's intercept (tree: the root value).
        score: weighted R² of the surrogate on the neighbourhood (official LIME's ``score``).
        local_pred: the surrogate's prediction for the original text.
        model_pred: the model's output for the original text (in ``output`` space).
        target: explained class index.
        output: ``"probs"``, ``"log_odds"`` or ``"logits"``.
        surrogate: the surrogate used (``"ridge"``, ``"lasso"``, ..., ``"tree"``).
        n_samples: neighbourhood size (the samples the regression stands for).
        n_evaluations: distinct perturbed texts the model evaluated.
        n_draws: rows of the regression (fewer than ``n_samples`` when masks are enumerated or
            the ``row_budget`` applies; their weights make up for it).
        unit_scores: one score per unit (word or LIME token): its feature's weight plus an
            equal share of each n-gram it belongs to.
        n_base: how many of ``feature_names`` are base features (the rest are n-grams).
        estimator: ``"greg"`` (pairwise working model, see
            :meth:`~captum_ext.attr.LinearSurrogate.fit_greg`) or ``"direct"`` (an ordinary fit).
        ci_low, ci_high: approximate 95% confidence intervals of the weights (linear surrogates).
        surrogate_fidelity: held-out weighted R² of each candidate (``surrogate="auto"``).
        top_k_separated: whether the top-k features' intervals separate from the rest.
        importances: tree surrogate: impurity importance of each feature.
        tree_text: tree surrogate: a readable dump.
        decision_path: tree surrogate: the splits the original text passes.
        model: the fitted surrogate (a Captum ``Model``).
        space: the :class:`FeatureSpace` (units, features, token positions).
    """

    feature_names: list[str]
    weights: np.ndarray
    intercept: float
    score: float
    local_pred: float
    model_pred: float
    target: int
    output: str
    surrogate: str
    n_samples: int
    n_evaluations: int
    unit_scores: np.ndarray
    n_base: int
    n_draws: int = 0
    estimator: str = "direct"
    ci_low: np.ndarray | None = None
    ci_high: np.ndarray | None = None
    surrogate_fidelity: dict[str, float] | None = None
    top_k_separated: bool | None = None
    importances: np.ndarray | None = None
    tree_text: str | None = None
    decision_path: list[dict[str, Any]] | None = None
    model: Any = field(default=None, repr=False)
    space: FeatureSpace | None = field(default=None, repr=False)

    def ranked_features(self) -> list[tuple[str, float]]:
        """``(name, weight)`` by decreasing absolute weight (official LIME's ``as_list`` order)."""
        order = np.argsort(-np.abs(self.weights), kind="stable")
        return [(self.feature_names[i], float(self.weights[i])) for i in order]

    def to_frame(self) -> Any:
        """One row per surrogate feature, by decreasing |weight|: ``feature``, ``kind``
        (word or n-gram), ``weight`` and, when known, ``ci_low``/``ci_high``, ``importance``."""
        import pandas as pd

        return pd.DataFrame(self.to_extras()["features"]).rename(columns={"name": "feature"})

    def _repr_html_(self) -> str:
        """Notebook display: the fit (surrogate vs model, R²) and the feature weights."""
        from captum_ext.viz.html import escape_html, table_html

        head = (
            f"<p><b>TextLime</b> · {escape_html(self.surrogate)} surrogate on {escape_html(self.output)}"
            f" of class {self.target} · weighted R² {self.score:.3f} · intercept "
            f"{self.intercept:.4g} · surrogate g(x) {self.local_pred:.4g} vs model f(x) "
            f"{self.model_pred:.4g} · {self.n_samples} samples</p>"
        )
        return head + table_html(self.to_frame(), title="features")

    def to_extras(self) -> dict[str, Any]:
        """The JSON-ready extras of a :class:`~captum_ext.result.WordAttribution`."""
        order = np.argsort(-np.abs(self.weights), kind="stable")
        features = []
        for i in order:
            entry: dict[str, Any] = {
                "name": self.feature_names[i],
                "kind": "word" if i < self.n_base else "ngram",
                "weight": float(self.weights[i]),
            }
            if self.ci_low is not None and self.ci_high is not None:
                entry["ci_low"] = float(self.ci_low[i])
                entry["ci_high"] = float(self.ci_high[i])
            if self.importances is not None:
                entry["importance"] = float(self.importances[i])
            features.append(entry)
        extras: dict[str, Any] = {
            "intercept": float(self.intercept),
            "local_pred": float(self.local_pred),
            "model_pred": float(self.model_pred),
            "score": float(self.score),
            "output": self.output,
            "surrogate": self.surrogate,
            "estimator": self.estimator,
            "n_samples": int(self.n_samples),
            "n_evaluations": int(self.n_evaluations),
            "n_draws": int(self.n_draws),
            "lime_weights": [[f["name"], f["weight"]] for f in features],
            "ngram_weights": [[f["name"], f["weight"]] for f in features if f["kind"] == "ngram"],
            "features": features,
        }
        if self.surrogate_fidelity is not None:
            extras["surrogate_fidelity"] = dict(self.surrogate_fidelity)
        if self.top_k_separated is not None:
            extras["top_k_separated"] = bool(self.top_k_separated)
        if self.tree_text is not None:
            extras["tree_text"] = self.tree_text
            extras["decision_path"] = self.decision_path
        return extras


def official_features_of_names(names: Sequence[str]) -> int:
    r"""How many features official LIME perturbs in the text these words spell: the distinct
    ``\W+`` tokens of the words (the token-id entry point's stand-in for
    :meth:`TextLime.official_features`, which reads the text itself; an uncased tokenizer's
    decoded words are lower-case, so there ``Good`` and ``good`` count once).

    Examples::

        >>> official_features_of_names(["thanks", "so", "much", "!!!", "so"])
        3
    """
    text, spans, start = "", [], 0
    for name in names:
        text += name + " "
        spans.append((start, start + len(name)))
        start += len(name) + 1
    tokens, _ = lime_units(text, spans)
    return max(1, len(set(tokens)))


class TextLime(LimeBase):
    r"""LIME for text classifiers (Ribeiro et al. 2016, https://arxiv.org/abs/1602.04938).

    A Captum ``LimeBase`` over token ids whose interpretable features are words (aligned to
    word-pieces through the adapter) and optionally n-grams of adjacent words, present when all
    their words are present. Perturbed texts are built from the token ids (words removed, or
    replaced by one ``[MASK]``/``[UNK]``/``[PAD]`` token each) and evaluated once each through the
    adapter (length-sorted batches, duplicates evaluated once). The distance and kernel are
    official LIME's by default (cosine distance × 100, ``sqrt(exp(-d² / 25²))``); the surrogate is
    a ridge (official LIME's), least squares, lasso or elastic net chosen by an information
    criterion, a decision tree, or ``"auto"`` (best held-out weighted R²).

    The default ``"kernel"`` sampler optimises the same expected weighted objective as official
    LIME with less variance (see :mod:`captum_ext.attr.perturbation`); ``sampler="lime"`` draws
    official LIME's neighbourhood exactly. With ``adaptive=True`` sampling doubles until the
    approximate 95% confidence intervals of the top-``top_k`` weights separate from the others
    (or ``n_samples`` is reached).

    :meth:`attribute` follows ``captum.attr.Lime.attribute`` on token-id tensors and returns
    attributions in the input's shape (each word-piece carries its word's score); :meth:`explain`
    takes a text and returns a :class:`~captum_ext.result.WordAttribution` whose ``extras`` hold
    the feature and n-gram weights, intercept, local vs. model prediction, weighted R², confidence
    intervals and, for trees, the dump and the decision path. :meth:`lime_compatible` builds the
    configuration that reproduces official ``LimeTextExplainer``.

    Args:
        forward_func (TextClassifierAdapter or Callable): Captum's ``forward_func``. The adapter,
            or a forward function from ``adapter.forward_func(output)``, sends the perturbed texts
            through the adapter (length-sorted, de-duplicated batches) and gives words their
            names and special tokens their status. Any other forward function
            ``f(input_ids, *additional_forward_args) -> (batch, classes)`` is called as Captum
            calls it, on rows of the input's length (absent features set to ``baselines``);
            :meth:`explain` (texts) then needs the adapter.
        interpretable_model (Model or str, optional): a Captum ``Model`` (e.g.
            ``SkLearnLasso(alpha=0.01)``, Captum's default, or
            :class:`~captum_ext.attr.LinearSurrogate`) or a name: ``"ridge"``, ``"ols"``,
            ``"lasso"``, ``"elastic_net"``, ``"tree"`` or ``"auto"``. Default: ``"ridge"``
            (official LIME's)
        similarity_func (Callable, optional): Captum's ``similarity_func(original_input,
            perturbed_input, perturbed_interpretable_input, **kwargs) -> float``, called sample
            by sample on official LIME's draws (or ``perturb_func``'s), or ``f(distances) ->
            weights`` on numpy arrays, which replaces the kernel and keeps the sampler.
            Default: None (official LIME's kernel with ``kernel_width``)
        perturb_func (Callable, optional): Captum's ``perturb_func(original_input, **kwargs)``
            returning a binary ``(1, num_interp_features)`` tensor (or a generator of them);
            ``kwargs`` hold ``num_interp_features``, ``feature_mask`` and ``baselines``. Seeded
            through ``torch.manual_seed(random_state)``. Default: None (``sampler``)
        kernel_width (float, optional): kernel width. Default: 25.0
        distance (str, optional): ``"cosine"`` (× 100, official) or ``"euclidean"``.
            Default: ``"cosine"``
        perturbation (str, optional): ``"remove"`` (official), or replace each absent word by one
            ``"mask"``, ``"unk"`` or ``"pad"`` token. Default: ``"remove"``
        units (str, optional): ``"words"`` (the adapter's words, punctuation included) or
            ``"lime"`` (official LIME's ``\W+`` tokens; punctuation is never perturbed).
            Default: ``"words"``
        bow (bool, optional): official ``bow=True``: one feature per distinct string, all its
            occurrences removed together. Default: False
        max_ngram (int, optional): add n-gram features up to this length. Default: 1
        sampler (str, optional): ``"kernel"`` or ``"lime"``. Default: ``"kernel"``
        output (str, optional): explain ``"probs"`` (official), ``"log_odds"`` or ``"logits"``
            (with an adapter; a forward function gives what it gives). Default: ``"probs"``
        feature_selection (str, optional): official LIME's selection for linear surrogates named
            by string: ``"none"``, ``"forward_selection"``, ``"highest_weights"``,
            ``"lasso_path"``, ``"auto"``. Default: ``"none"``
        num_features (int, optional): features kept by ``feature_selection``. Default: 10
        max_depth (int, optional): depth of a ``"tree"`` surrogate. Default: 4
        adaptive (bool, optional): sample until the top-k intervals separate. Default: False
        top_k (int, optional): the k of ``adaptive``. Default: 5
        estimator (str, optional): how a ridge/OLS surrogate over words is fitted: ``"greg"``
            estimates the same surrogate as an ordinary fit with less variance (a working model
            with pairwise word interactions, projected exactly onto the words, see
            :meth:`~captum_ext.attr.LinearSurrogate.fit_greg`); ``"direct"`` is the ordinary fit
            (official LIME's). Other surrogates, n-grams and feature selection always fit
            directly. Default: ``"greg"``
        row_budget (str, optional): ``"official"``: a neighbourhood of ``n_samples`` evaluates
            at most as many distinct perturbed texts as official LIME does at the same
            ``n_samples`` on the same text, in expectation
            (:func:`~captum_ext.attr.perturbation.expected_distinct_official` of its ``\W+``
            tokens; never fewer than ``2 (d + 1)`` for ``d`` features): the sampler draws fewer
            samples, weighted to stand for ``n_samples``. ``None``: ``n_samples`` draws, however
            many distinct texts they are. Not applied with ``adaptive``, a ``perturb_func`` or a
            Captum-style ``similarity_func``. Default: ``"official"``
        random_state (int, optional): seed; an explanation with the same seed is identical.
            :meth:`attribute` and :meth:`explain` may override it. Default: None

    Examples::

        >>> from captum_ext.adapters import TextClassifierAdapter
        >>> from captum_ext import TextLime
        >>> adapter = TextClassifierAdapter.from_pretrained()  # doctest: +SKIP
        >>> lime = TextLime(adapter, random_state=0)  # doctest: +SKIP
        >>> ids, mask = adapter.captum_inputs("not bad at all")  # doctest: +SKIP
        >>> attr = lime.attribute(ids, target=1, additional_forward_args=(mask,), n_samples=500)  # doctest: +SKIP
        >>> attr.shape == ids.shape  # doctest: +SKIP
        True
        >>> lime.explain("not bad at all", n_samples=500).top_words(2)  # doctest: +SKIP
        ['not', 'bad']
    """

    def __init__(
        self,
        forward_func: TextClassifierAdapter | Callable[..., Any],
        interpretable_model: Model | str | None = None,
        similarity_func: Callable[..., Any] | None = None,
        perturb_func: Callable[..., Any] | None = None,
        *,
        kernel_width: float = 25.0,
        distance: str = "cosine",
        perturbation: str = "remove",
        units: str = "words",
        bow: bool = False,
        max_ngram: int = 1,
        sampler: str = "kernel",
        output: Output | None = None,
        feature_selection: str = "none",
        num_features: int = 10,
        max_depth: int | None = 4,
        adaptive: bool = False,
        top_k: int = 5,
        estimator: str = "greg",
        row_budget: str | None = "official",
        random_state: int | None = None,
    ) -> None:
        adapter, forward, resolved_output = _resolve_forward(forward_func, output)
        check_choice(perturbation, "perturbation", PERTURBATIONS)
        check_choice(estimator, "estimator", ESTIMATORS)
        check_choice(sampler, "sampler", SAMPLERS)
        check_choice(units, "units", UNITS)
        check_choice(row_budget, "row_budget", ROW_BUDGETS)
        check_scalar(kernel_width, "kernel_width", min_val=0, include_boundaries="neither")
        check_scalar(max_ngram, "max_ngram", min_val=1)
        check_scalar(top_k, "top_k", min_val=1)
        if perturb_func is not None and not callable(perturb_func):
            raise InputError(
                "perturb_func must be Captum's perturb_func(original_input, **kwargs) -> a binary "
                f"(1, num_interp_features) tensor, got {type(perturb_func).__name__}."
            )
        self._distance = distance_function(distance)
        self.adapter = adapter
        self.kernel_width = float(kernel_width)
        self.distance = distance
        self.perturbation = perturbation
        self.units = units
        self.bow = bool(bow)
        self.max_ngram = int(max_ngram)
        self.sampler = sampler
        self.output = resolved_output
        self.feature_selection = feature_selection
        self.num_features = int(num_features)
        self.max_depth = max_depth
        self.adaptive = bool(adaptive)
        self.top_k = int(top_k)
        self.estimator = estimator
        self.row_budget = row_budget
        self.random_state = random_state
        self._kernel_override = similarity_func
        self._similarity_form = _similarity_form(similarity_func)
        self._perturb_override = perturb_func
        if interpretable_model is None:
            interpretable_model = "ridge"
        self.surrogate_spec = interpretable_model
        model_for_base = (
            self._new_surrogate(interpretable_model)
            if isinstance(interpretable_model, str) and interpretable_model != "auto"
            else interpretable_model
        )
        if isinstance(model_for_base, str):  # "auto": Captum's attribute needs some Model
            model_for_base = self._new_surrogate("ridge")
        _check_model(model_for_base)
        LimeBase.__init__(
            self,
            forward,
            model_for_base,
            self._captum_similarity,
            self._captum_perturb,
            True,
            self._captum_from_interp,
            None,
        )
        self.last_results_: list[LimeResult] = []

    # -- construction helpers ---------------------------------------------------------------
    @classmethod
    def lime_compatible(cls, adapter: TextClassifierAdapter, **overrides: Any) -> TextLime:
        """The configuration of official ``LimeTextExplainer`` defaults.

        LIME's ``\\W+`` word tokens, ``bow=True``, word removal, cosine × 100 distance with kernel
        width 25, official LIME's sampler (same draws for the same seed), ridge ``alpha=1`` on
        probabilities. ``overrides`` change any of these.

        Examples::

            >>> from captum_ext.adapters import TextClassifierAdapter
            >>> from captum_ext import TextLime
            >>> adapter = TextClassifierAdapter.from_pretrained()  # doctest: +SKIP
            >>> lime = TextLime.lime_compatible(adapter, random_state=0)  # doctest: +SKIP
            >>> lime.explain("what a lovely day", n_samples=500).top_words(1)  # doctest: +SKIP
            ['lovely']
        """
        settings: dict[str, Any] = {
            "interpretable_model": "ridge",
            "units": "lime",
            "bow": True,
            "perturbation": "remove",
            "sampler": "lime",
            "output": "probs",
            "kernel_width": 25.0,
            "distance": "cosine",
            "estimator": "direct",
            "row_budget": None,
        }
        settings.update(overrides)
        return cls(adapter, **settings)

    def settings(self) -> dict[str, Any]:
        """The explainer's settings (JSON-ready), as stored in results."""
        spec = self.surrogate_spec
        return {
            "surrogate": spec if isinstance(spec, str) else type(spec).__name__,
            "kernel_width": self.kernel_width,
            "distance": self.distance,
            "kernel": "custom" if self._kernel_override is not None else "lime",
            "perturbation": self.perturbation,
            "units": self.units,
            "bow": self.bow,
            "max_ngram": self.max_ngram,
            "sampler": self.sampler,
            "output": self.output,
            "feature_selection": self.feature_selection,
            "num_features": self.num_features,
            "max_depth": self.max_depth,
            "adaptive": self.adaptive,
            "top_k": self.top_k,
            "estimator": self.estimator,
            "row_budget": self.row_budget,
        }

    def _new_surrogate(self, name: str) -> LinearSurrogate | TreeSurrogate:
        if name == "tree":
            return TreeSurrogate(max_depth=self.max_depth)
        if name not in ("ridge", "ols", "lasso", "elastic_net"):
            return make_surrogate(name)  # raises the InputError listing the names
        return LinearSurrogate(
            name,
            feature_selection=self.feature_selection,
            num_features=self.num_features,
            random_state=self.random_state,
        )

    def _kernel(self, distances: np.ndarray) -> np.ndarray:
        if self._kernel_override is not None:
            return np.asarray(self._kernel_override(distances), dtype=np.float64)
        return lime_kernel(distances, self.kernel_width)

    def _replace_id(self) -> int | None:
        if self.perturbation == "remove":
            return None
        tok = self.adapter.tokenizer
        token_id = {
            "mask": tok.mask_token_id,
            "unk": tok.unk_token_id,
            "pad": tok.pad_token_id,
        }[self.perturbation]
        if token_id is None:
            raise InputError(
                f"perturbation={self.perturbation!r} but the tokenizer has no "
                f"{self.perturbation} token: use perturbation='remove'."
            )
        return int(token_id)

    # -- Captum's generic hooks (kept honest; attribute() below is the vectorised path) ------
    def _captum_similarity(
        self, original_input: Any, perturbed_input: Any, interp: Tensor, **kwargs: Any
    ) -> float:
        if self._similarity_form == "captum":
            assert self._kernel_override is not None
            return float(self._kernel_override(original_input, perturbed_input, interp, **kwargs))
        mask = interp.detach().cpu().numpy().reshape(1, -1)
        return float(self._kernel(self._distance(mask))[0])

    def _captum_perturb(self, original_input: Any, **kwargs: Any) -> Tensor:
        if self._perturb_override is not None:
            return self._perturb_override(original_input, **kwargs)
        d = int(kwargs["num_interp_features"])  # type: ignore[arg-type]
        n_removed = int(torch.randint(1, d + 1, (1,), device="cpu").item())
        mask = torch.ones(1, d, dtype=torch.long, device="cpu")
        mask[0, torch.randperm(d, device="cpu")[:n_removed]] = 0
        return mask

    def _captum_from_interp(self, curr_sample: Tensor, original_inputs: Tensor, **kwargs: Any):
        feature_mask = kwargs["feature_mask"]
        present = curr_sample[0][feature_mask.clamp(min=0)].bool() | (feature_mask < 0)
        baselines = kwargs.get("baselines")
        if baselines is None:
            replace = self._replace_id()
            pad = self.adapter.pad_token_id if self.adapter is not None else 0
            baselines = pad if replace is None else replace
        fill = torch.as_tensor(baselines, dtype=original_inputs.dtype).expand_as(original_inputs)
        return torch.where(present, original_inputs, fill)

    # -- the model ---------------------------------------------------------------------------
    def _predict(
        self,
        rows: list[list[int]],
        perturbations_per_eval: int | None,
        show_progress: bool,
        call: _Call | None = None,
    ) -> np.ndarray:
        check_scalar(perturbations_per_eval, "perturbations_per_eval", min_val=1, allow_none=True)
        adapter = self.adapter
        if adapter is None:
            return self._predict_forward(rows, perturbations_per_eval, show_progress, call)
        if perturbations_per_eval is None or perturbations_per_eval == adapter.batch_size:
            return adapter.predict_ids(rows, output=self.output, show_progress=show_progress)
        previous = adapter.batch_size
        adapter.batch_size = int(perturbations_per_eval)
        try:
            return adapter.predict_ids(rows, output=self.output, show_progress=show_progress)
        finally:
            adapter.batch_size = previous

    def _predict_forward(
        self, rows: list[list[int]], size: int | None, show_progress: bool, call: _Call | None
    ) -> np.ndarray:
        """A plain forward function (no adapter): rows of one length, Captum's call convention."""
        from tqdm.auto import tqdm

        size = int(size or 64)
        args = call.forward_args if call is not None else ()
        device = call.device if call is not None else None
        starts = range(0, len(rows), size)
        out: list[np.ndarray] = []
        with torch.no_grad():
            for s in tqdm(starts, desc="TextLime", disable=not show_progress):
                batch = torch.tensor(rows[s : s + size], dtype=torch.long, device=device)
                res = self.forward_func(batch, *(_expand(a, len(batch)) for a in args))
                res = torch.as_tensor(res).detach().to(torch.float64).reshape(len(batch), -1)
                out.append(res.cpu().numpy())
        return np.vstack(out)

    # -- the algorithm -----------------------------------------------------------------------
    def _effective_sampler(self) -> str:
        """``"custom"`` (Captum's ``perturb_func``), ``"lime"`` or ``"kernel"``.

        The kernel sampler folds a kernel of the distance into the draws; a Captum-style
        ``similarity_func`` (of the inputs) weighs sample by sample, on official LIME's draws.
        """
        if self._perturb_override is not None:
            return "custom"
        if self.sampler == "lime" or self._similarity_form == "captum":
            return "lime"
        return "kernel"

    def _draw(
        self,
        n_base: int,
        n: int,
        rng: Any,
        call: _Call | None = None,
        max_distinct: float | None = None,
    ) -> Neighbourhood:
        sampler = self._effective_sampler()
        if sampler == "custom":
            return self._draw_custom(n_base, n, call)
        if sampler == "lime":
            return sample_lime(n_base, n, rng, max_distinct=max_distinct)
        return sample_kernel(
            n_base, n, rng, self._kernel, self._distance, max_distinct=max_distinct
        )

    def draws_without_the_model(self) -> bool:
        """Whether a neighbourhood is drawn before any model output is known (so the rows of
        several texts can be evaluated in one call): not with ``adaptive`` (it draws more after
        fitting), a Captum ``perturb_func`` (drawn under a torch seed, sample by sample) or a
        Captum-style ``similarity_func`` (called on the perturbed inputs)."""
        return (
            not self.adaptive
            and self._effective_sampler() != "custom"
            and self._similarity_form != "captum"
        )

    def _max_distinct(self, n_samples: int, official_features: int, n_base: int) -> float | None:
        """The budget of distinct perturbed texts of a fixed-size neighbourhood (``row_budget``).

        ``"official"``: what official LIME evaluates in expectation at ``n_samples`` on
        ``official_features`` features, but never fewer than the ``2 (d + 1)`` masks a fit of
        ``d = n_base`` weights needs (or official's scheme on those ``d`` features, if fewer): a
        short text whose punctuation or repeated words are features of ours and not of official
        LIME's still gets a fit. None: no budget (also with ``adaptive``, a Captum
        ``perturb_func`` or a Captum-style ``similarity_func``).
        """
        if (
            self.row_budget is None
            or self.adaptive
            or self._effective_sampler() == "custom"
            or self._similarity_form == "captum"
        ):
            return None
        official = expected_distinct_official(max(1, int(official_features)), n_samples)
        floor = min(expected_distinct_official(n_base, n_samples), 2.0 * (n_base + 1))
        return max(official, floor)

    def _draw_custom(self, n_base: int, n: int, call: _Call | None) -> Neighbourhood:
        """``n`` masks: the original (all ones), then Captum ``perturb_func`` draws."""
        assert self._perturb_override is not None
        original = call.original if call is not None else None
        kwargs = {"num_interp_features": n_base, **(call.captum_kwargs if call else {})}
        masks = [np.ones(n_base, dtype=np.int8)]
        source: Any = None
        while len(masks) < n:
            if source is None or isinstance(source, Tensor):
                source = self._perturb_override(original, **kwargs)
                sample = source if isinstance(source, Tensor) else next(iter(source), None)
                if not isinstance(source, Tensor):
                    source = iter(source)
            else:
                sample = next(source, None)
            if sample is None:
                break
            arr = np.asarray(torch.as_tensor(sample).detach().cpu()).reshape(-1)
            if arr.size != n_base or not np.isin(arr, (0, 1)).all():
                raise InputError(
                    f"perturb_func must return a binary (1, {n_base}) tensor (one entry per "
                    f"interpretable feature), got shape {tuple(torch.as_tensor(sample).shape)}."
                )
            masks.append(arr.astype(np.int8))
        return Neighbourhood(np.stack(masks), np.ones(len(masks)), kernel_factor=False)

    def _weights(
        self, nb: Neighbourhood, space: FeatureSpace, call: _Call | None, rows_of: Callable
    ) -> np.ndarray:
        """Regression weights of a neighbourhood: its sample weights times the similarity."""
        if nb.kernel_factor:
            return nb.sample_weight
        if self._similarity_form != "captum":
            return nb.sample_weight * self._kernel(self._distance(nb.masks))
        assert self._kernel_override is not None
        original = call.original if call is not None else torch.as_tensor([space.input_ids])
        kwargs = call.captum_kwargs if call is not None else {}
        sims = []
        for mask, row in zip(nb.masks, rows_of(nb.masks), strict=True):
            perturbed = torch.tensor([row], dtype=original.dtype, device=original.device)
            interp = torch.as_tensor(mask[None, :], dtype=torch.long, device=original.device)
            sim = self._kernel_override(
                original, perturbed, interp, num_interp_features=space.n_base, **kwargs
            )
            sims.append(float(torch.as_tensor(sim).reshape(-1)[0]))
        return nb.sample_weight * np.asarray(sims, dtype=np.float64)

    def explain_space(
        self,
        space: FeatureSpace,
        target: int | None = None,
        *,
        n_samples: int = 1000,
        random_state: int | None = None,
        perturbations_per_eval: int | None = None,
        show_progress: bool = False,
        replace_token_id: int | None = None,
        baseline: np.ndarray | None = None,
        call: _Call | None = None,
        official_features: int | None = None,
    ) -> LimeResult:
        """Run LIME on one :class:`FeatureSpace` (the shared core of both entry points).

        ``target`` None explains the class the model predicts for the original row;
        ``replace_token_id`` replaces each absent word by that one token instead of the
        ``perturbation`` setting; ``baseline`` (Captum's ``baselines``, one token id per position)
        sets every position of an absent feature to its baseline, in place;
        ``official_features`` is how many features official LIME would perturb in this text (the
        ``row_budget``'s reference; default: the space's base features).
        """
        job = self._begin(
            space, n_samples, random_state, replace_token_id, baseline, call, official_features
        )
        with torch.random.fork_rng(devices=[]):
            if job.seed is not None:
                torch.manual_seed(job.seed)  # a Captum perturb_func draws with torch
            self._draw_first(job)
            return self._finish(job, target, perturbations_per_eval, show_progress)

    def _begin(
        self,
        space: FeatureSpace,
        n_samples: int,
        random_state: int | None,
        replace_token_id: int | None = None,
        baseline: np.ndarray | None = None,
        call: _Call | None = None,
        official_features: int | None = None,
    ) -> _Job:
        """A neighbourhood to draw on ``space`` (checks the arguments, seeds the generator)."""
        check_scalar(n_samples, "n_samples", min_val=1)
        if space.n_base == 0:
            raise InputError(
                "the text has no feature to perturb (with units='lime', only punctuation or "
                "symbols): use units='words' or a gradient method such as --method ig."
            )
        seed = self.random_state if random_state is None else random_state
        rng: Any = (
            np.random.RandomState(seed)
            if self._effective_sampler() == "lime"
            else np.random.default_rng(seed)
        )
        replace_id = None
        if baseline is None:
            replace_id = self._replace_id() if replace_token_id is None else int(replace_token_id)
        return _Job(
            space=space,
            n_samples=int(n_samples),
            seed=seed,
            rng=rng,
            replace_id=replace_id,
            baseline=baseline,
            call=call,
            official_features=space.n_base if official_features is None else official_features,
        )

    def _draw_first(self, job: _Job) -> None:
        """The first (with ``adaptive``, the smallest) neighbourhood of ``job``."""
        space = job.space
        if self.adaptive:
            size = min(job.n_samples, max(100, 8 * space.n_features))
        else:
            size = job.n_samples
        nb = self._draw(
            space.n_base,
            size,
            job.rng,
            job.call,
            self._max_distinct(size, job.official_features, space.n_base),
        )
        job.masks, job.n_nominal = nb.masks, nb.n_samples
        job.w = self._weights(nb, space, job.call, job.rows_of)

    def _finish(
        self,
        job: _Job,
        target: int | None,
        perturbations_per_eval: int | None,
        show_progress: bool,
    ) -> LimeResult:
        """Evaluate what ``job``'s cache lacks, fit, and (``adaptive``) draw more until done."""
        space, call, rng, n_samples = job.space, job.call, job.rng, job.n_samples

        def outputs(masks: np.ndarray) -> np.ndarray:
            keys, rows = job.missing(masks)
            if rows:
                job.receive(keys, self._predict(rows, perturbations_per_eval, show_progress, call))
            return job.outputs(masks)

        masks, w = job.masks, job.w
        assert masks is not None and w is not None, "draw the neighbourhood first"
        preds = outputs(masks)
        if target is None:
            target = int(np.argmax(preds[0]))
        while True:
            result = self._fit(space, masks, w, preds, int(target), rng, job.n_nominal)
            result.n_evaluations = len(job.cache)
            if not self.adaptive or result.top_k_separated or job.n_nominal >= n_samples:
                break
            extra = min(job.n_nominal, n_samples - job.n_nominal)
            more = self._draw(space.n_base, extra + 1, rng, call)
            more = Neighbourhood(more.masks[1:], more.sample_weight[1:], more.kernel_factor)
            masks = np.vstack([masks, more.masks])  # row 0 (the original) not repeated
            w = np.concatenate([w, self._weights(more, space, call, job.rows_of)])
            preds = np.vstack([preds, outputs(more.masks)])
            job.n_nominal += extra
        return result

    def _fit(
        self,
        space: FeatureSpace,
        masks: np.ndarray,
        w: np.ndarray,
        preds: np.ndarray,
        target: int,
        rng: Any,
        n_nominal: int | None = None,
    ) -> LimeResult:
        if not 0 <= target < preds.shape[1]:
            raise InputError(
                f"target {target} is not a class of this model (0..{preds.shape[1] - 1})."
            )
        y = preds[:, target]
        X = space.design(masks)
        names = space.feature_names
        base: dict[str, Any] = dict(
            feature_names=names,
            target=target,
            output=self.output,
            n_samples=int(len(masks) if n_nominal is None else n_nominal),
            n_evaluations=0,
            n_draws=int(len(masks)),
            n_base=space.n_base,
            model_pred=float(y[0]),
            space=space,
        )
        if np.ptp(y) <= 1e-12 * max(1.0, abs(float(y[0]))):
            warnings.warn(
                "every perturbation gives the same model output "
                f"({self.output} {float(y[0]):.6g} for class {target}): the explanation has "
                "zero weights. Try output='log_odds' for a saturated model.",
                stacklevel=3,
            )
            return LimeResult(
                weights=np.zeros(space.n_features),
                intercept=float(y[0]),
                score=float("nan"),
                local_pred=float(y[0]),
                surrogate=self._surrogate_name(),
                unit_scores=np.zeros(len(space.unit_names)),
                top_k_separated=True if self.adaptive else None,
                **base,
            )
        spec = self.surrogate_spec
        fidelity = None
        if spec == "auto":
            chosen, fidelity = self._choose_surrogate(X, y, w, masks, rng)
            model: Any = self._new_surrogate(chosen)
        elif isinstance(spec, str):
            model = self._new_surrogate(spec)
        else:
            model = spec
        estimator = "direct"
        if self._greg_applies(model, space):
            mass = official_level_mass(
                space.n_base,
                len(masks) if n_nominal is None else n_nominal,
                level_weights(space.n_base, self._kernel, self._distance),
            )
            model.fit_greg(X, y, w, mass)
            estimator = "greg"
        elif isinstance(model, (LinearSurrogate, TreeSurrogate)):
            model.fit_arrays(X, y, w)
        else:  # any Captum Model: Captum's (x, y, w) DataLoader format
            from torch.utils.data import DataLoader, TensorDataset

            data = TensorDataset(
                torch.as_tensor(X, dtype=torch.float32),
                torch.as_tensor(y, dtype=torch.float32),
                torch.as_tensor(w, dtype=torch.float32),
            )
            model.fit(DataLoader(data, batch_size=len(data)))
        original = space.design(np.ones((1, space.n_base)))
        pred_fn = getattr(model, "predict", None)
        if pred_fn is not None:
            in_sample = np.asarray(pred_fn(X), dtype=np.float64)
            local = float(np.asarray(pred_fn(original)).ravel()[0])
        else:
            in_sample = model(torch.as_tensor(X, dtype=torch.float32)).detach().numpy().ravel()
            local = float(model(torch.as_tensor(original, dtype=torch.float32)).ravel()[0])
        score = weighted_r2(y, in_sample, w)
        extra: dict[str, Any] = {}
        if isinstance(model, TreeSurrogate):
            weights = model.path_contributions(original[0])
            intercept = model.intercept_
            extra = dict(
                importances=model.feature_importances_,
                tree_text=model.export_text(names),
                decision_path=model.decision_path(original[0], names),
            )
            name = "tree"
        else:
            coef = getattr(model, "coef_", None)  # float64; representation() is float32
            weights = np.asarray(
                coef if coef is not None else model.representation().detach().cpu().numpy(),
                dtype=np.float64,
            ).ravel()
            intercept = float(
                getattr(model, "intercept_", np.nan)
                if hasattr(model, "intercept_")
                else model.bias().ravel()[0]
            )
            name = getattr(model, "name", type(model).__name__)
            if isinstance(model, LinearSurrogate):
                low, high, _ = model.confidence_intervals(X, y, w)
                extra = dict(
                    ci_low=low,
                    ci_high=high,
                    top_k_separated=_separated(low, high, weights, self.top_k),
                )
        return LimeResult(
            weights=weights,
            intercept=float(intercept),
            score=score,
            local_pred=local,
            surrogate=name,
            estimator=estimator,
            unit_scores=space.unit_scores(weights),
            surrogate_fidelity=fidelity,
            model=model,
            **base,
            **extra,
        )

    def _greg_applies(self, model: Any, space: FeatureSpace) -> bool:
        """The GREG estimator needs a plain ridge/OLS on the base features (no n-grams)."""
        return (
            self.estimator == "greg"
            and self._perturb_override is None  # the level masses are LIME's draws'
            and self._similarity_form != "captum"
            and isinstance(model, LinearSurrogate)
            and model.method in ("ridge", "ols")
            and model.feature_selection == "none"
            and not space.ngrams
            and 2 <= space.n_base <= GREG_MAX_FEATURES
        )

    def _surrogate_name(self) -> str:
        spec = self.surrogate_spec
        return spec if isinstance(spec, str) else getattr(spec, "name", type(spec).__name__)

    def _choose_surrogate(
        self, X: np.ndarray, y: np.ndarray, w: np.ndarray, masks: np.ndarray, rng: Any
    ) -> tuple[str, dict[str, float]]:
        """The candidate with the best held-out weighted R² (split by distinct mask)."""
        _, group = np.unique(masks, axis=0, return_inverse=True)
        group = np.asarray(group).reshape(-1)
        n_groups = int(group.max()) + 1
        if n_groups < 10:
            return "ridge", {}
        seed = (
            int(rng.randint(0, 2**31 - 1))
            if hasattr(rng, "randint")
            else int(rng.integers(2**31 - 1))
        )
        held = np.random.default_rng(seed).random(n_groups) < 0.2
        held[group[0]] = False  # the original text stays in training
        test = held[group]
        if test.sum() == 0 or (~test).sum() < 2:
            return "ridge", {}
        fidelity: dict[str, float] = {}
        for name in AUTO_CANDIDATES:
            m = self._new_surrogate(name).fit_arrays(X[~test], y[~test], w[~test])
            r2 = weighted_r2(y[test], m.predict(X[test]), w[test])
            fidelity[name] = float(r2)
        best = max(fidelity, key=lambda k: -np.inf if math.isnan(fidelity[k]) else fidelity[k])
        return best, fidelity

    # -- Captum entry point ------------------------------------------------------------------
    @torch.no_grad()
    def attribute(  # type: ignore[override]
        self,
        inputs: Tensor,
        baselines: int | Tensor | None = None,
        target: int | Sequence[int] | Tensor | None = None,
        additional_forward_args: Any = None,
        feature_mask: Tensor | None = None,
        n_samples: int = 1000,
        perturbations_per_eval: int | None = None,
        return_input_shape: bool = True,
        show_progress: bool = False,
        random_state: int | None = None,
    ) -> Tensor:
        r"""LIME attributions for token-id inputs, in the input's shape (Captum's ``Lime`` API).

        The arguments are ``captum.attr.Lime.attribute``'s, with its meaning. Each example of
        the batch gets its own neighbourhood and surrogate. The fitted results (weights,
        intercept, R², intervals) are kept in ``self.last_results_``. Special tokens ([CLS],
        [SEP], [PAD], with an adapter) and positions whose baseline equals the input are never
        perturbed and score 0, whatever group of ``feature_mask`` they are in.

        Args:
            inputs (Tensor): token ids, shape ``(batch, seq_len)``, special tokens included.
            baselines (int or Tensor, optional): Captum's baselines: a token id, or token ids
                shaped like the inputs (``(batch or 1, seq_len)``, e.g. ``adapter.baselines(ids)``);
                every position of an absent feature takes its baseline, in place.
                Default: None (with an adapter, the ``perturbation`` setting: absent words
                removed; with a plain forward function, Captum's default 0)
            target (int, list or Tensor, optional): class per example, or one for all.
                Default: None (the class the model predicts)
            additional_forward_args (Tensor or tuple, optional): with an adapter, only an
                attention mask of the inputs' shape (positions where it is 0 are padding and
                dropped; the adapter builds the masks of the perturbed rows). With a plain forward
                function, any extra arguments, passed to it after the perturbed ids as Captum
                does (tensors of one row per example are repeated). Default: None
            feature_mask (Tensor, optional): Captum's feature mask, ``(batch or 1, seq_len)``:
                positions with the same value are one feature (e.g.
                ``adapter.word_feature_mask(ids)``), negative values are never perturbed.
                Default: None (with an adapter, the words from the tokenizer: a ``##`` word-piece
                joins the previous word; with a plain forward function, each position)
            n_samples (int, optional): neighbourhood size (maximum with ``adaptive``).
                Default: 1000
            perturbations_per_eval (int, optional): perturbed texts per forward pass.
                Default: None (the adapter's ``batch_size``; 64 for a plain forward function)
            return_input_shape (bool, optional): attributions in the input's shape; else, as
                Captum, one coefficient per feature: ``(batch, max(feature_mask) + 1)`` with a
                feature mask (special-token-only groups 0), otherwise the surrogate's weights
                ``(batch, n_features)``. Default: True
            show_progress (bool, optional): show a progress bar over the model's batches.
                Default: False
            random_state (int, optional): seed for this call. Default: the constructor's

        Returns:
            Tensor: ``(batch, seq_len)`` float attributions; special and padding positions 0.

        Examples::

            >>> from captum_ext.adapters import TextClassifierAdapter
            >>> adapter = TextClassifierAdapter.from_pretrained()  # doctest: +SKIP
            >>> ids, mask = adapter.captum_inputs("not bad at all")  # doctest: +SKIP
            >>> lime = TextLime(adapter.forward_func(), random_state=0)  # doctest: +SKIP
            >>> attr = lime.attribute(ids, baselines=adapter.baselines(ids), target=1,
            ...                       additional_forward_args=(mask,),
            ...                       feature_mask=adapter.word_feature_mask(ids))  # doctest: +SKIP
            >>> attr.shape == ids.shape  # doctest: +SKIP
            True
        """
        if isinstance(inputs, tuple):
            raise InputError(
                "TextLime explains one tensor of token ids: pass inputs=input_ids and the "
                "attention mask in additional_forward_args (for several input tensors, such as "
                "embeddings, use captum.attr.Lime)."
            )
        if not isinstance(inputs, Tensor) or inputs.dim() != 2:
            raise InputError(
                "inputs must be a 2-D tensor of token ids (batch, seq_len), got "
                f"{type(inputs).__name__}{tuple(inputs.shape) if isinstance(inputs, Tensor) else ''}."
            )
        if inputs.is_floating_point():
            raise InputError(
                "inputs must be token ids (an integer tensor), got "
                f"{inputs.dtype}: TextLime perturbs words; to perturb embeddings use "
                "captum.attr.Lime, or captum.attr.LayerIntegratedGradients on the ids."
            )
        bsz, seq_len = inputs.shape
        plain = self.adapter is None
        if plain:
            attention = None
            forward_args = _forward_args(additional_forward_args, bsz)
        else:
            attention = _attention_mask(additional_forward_args, inputs)
            forward_args = ()
        targets = _targets(target, bsz)
        if feature_mask is not None:
            if isinstance(feature_mask, tuple):
                feature_mask = feature_mask[0] if len(feature_mask) == 1 else None
                if feature_mask is None:
                    raise InputError("feature_mask must be one tensor for one tensor of inputs.")
            feature_mask = torch.as_tensor(feature_mask)
            if feature_mask.dim() == 1:
                feature_mask = feature_mask[None, :]
            if feature_mask.shape[-1] != seq_len or feature_mask.dim() != 2:
                raise InputError(
                    f"feature_mask must have shape (batch or 1, {seq_len}), got "
                    f"{tuple(feature_mask.shape)}."
                )
        base_rows = _baseline_rows(baselines, inputs, default=0 if plain else None)
        n_groups = int(feature_mask.max().item()) + 1 if feature_mask is not None else 0
        self.last_results_ = []
        out_rows: list[Tensor] = []
        for b in range(bsz):
            ids = inputs[b].tolist()
            valid = attention[b].bool().tolist() if attention is not None else [True] * seq_len
            fm = None
            if feature_mask is not None:
                fm = feature_mask[b if feature_mask.shape[0] > 1 else 0].tolist()
            base = None if base_rows is None else base_rows[b if len(base_rows) > 1 else 0]
            space, kept_positions, groups = self._space_from_ids(ids, valid, fm, base)
            call = _Call(
                forward_args=tuple(_row(a, b, bsz) for a in forward_args),
                device=inputs.device,
                original=torch.tensor([[ids[p] for p in kept_positions]], device=inputs.device),
                captum_kwargs={
                    "feature_mask": None if fm is None else torch.tensor([fm])[:, kept_positions],
                    "baselines": None if base is None else torch.as_tensor(base[kept_positions]),
                },
            )
            result = self.explain_space(
                space,
                targets[b],
                n_samples=n_samples,
                random_state=random_state,
                perturbations_per_eval=perturbations_per_eval,
                show_progress=show_progress,
                baseline=None if base is None else base[kept_positions],
                call=call,
                official_features=(
                    official_features_of_names(space.unit_names)
                    if feature_mask is None and self.adapter is not None
                    else None
                ),
            )
            self.last_results_.append(result)
            if return_input_shape:
                row = torch.zeros(seq_len, dtype=torch.float32, device=inputs.device)
                for u, score in enumerate(result.unit_scores):
                    pos = [kept_positions[p] for p in space.unit_positions[u]]
                    row[pos] = float(score)
                out_rows.append(row)
            elif feature_mask is not None:  # Captum's layout: one coefficient per mask value
                coefs = torch.zeros(n_groups, dtype=torch.float32)
                for u, score in enumerate(result.unit_scores):
                    coefs[groups[u]] = float(score)
                out_rows.append(coefs)
            else:
                out_rows.append(torch.as_tensor(result.weights, dtype=torch.float32))
        if not return_input_shape and len({r.numel() for r in out_rows}) > 1:
            raise InputError(
                "return_input_shape=False needs the same number of features in every example: "
                "explain the texts one at a time, or give a feature_mask."
            )
        return torch.stack(out_rows).to(inputs.device)

    def _space_from_ids(
        self,
        ids: list[int],
        valid: list[bool],
        feature_mask: list[int] | None,
        baseline: np.ndarray | None = None,
    ) -> tuple[FeatureSpace, list[int], list[int]]:
        """Feature space of one token row (padding dropped), the kept positions and the
        feature-mask value of each unit.

        Special tokens (with an adapter) and positions whose baseline is the input itself are
        never perturbed, whatever their group in ``feature_mask``.
        """
        kept = [i for i, v in enumerate(valid) if v]
        row = [ids[i] for i in kept]
        tok = self.adapter.tokenizer if self.adapter is not None else None
        if feature_mask is not None:
            unit_of = [int(feature_mask[i]) for i in kept]
        elif tok is not None:
            unit_of = [-1 if w is None else w for w in token_words(tok, row)]
        else:  # a plain forward function: Captum's default, each position a feature
            unit_of = list(range(len(row)))
        special = special_token_ids(tok) if tok is not None else set()
        fixed = [
            t in special or (baseline is not None and int(baseline[i]) == t)
            for t, i in zip(row, kept, strict=True)
        ]
        order: dict[int, int] = {}
        positions: list[list[int]] = []
        for pos, u in enumerate(unit_of):
            if u < 0 or fixed[pos]:
                continue
            if u not in order:
                order[u] = len(positions)
                positions.append([])
            positions[order[u]].append(pos)
        if tok is not None:
            names = [
                tok.convert_tokens_to_string(
                    tok.convert_ids_to_tokens([row[p] for p in pos])
                ).strip()
                for pos in positions
            ]
        else:
            names = [" ".join(str(row[p]) for p in pos) for pos in positions]
        space = FeatureSpace.from_units(
            row, names, positions, bow=self.bow, max_ngram=self.max_ngram
        )
        return space, kept, list(order)

    # -- text entry points -------------------------------------------------------------------
    def space_for(self, encoding: TextEncoding) -> tuple[FeatureSpace, list[list[int]]]:
        """The feature space of an encoded text and the words each unit covers."""
        positions_of_word = encoding.word_token_positions
        if self.units == "lime":
            names, unit_words = [], []
            for seg in sorted(set(encoding.segments or [0])):  # a pair: each text on its own
                idx = [w for w in range(len(encoding.words)) if encoding.word_segment(w) == seg]
                seg_names, seg_words = lime_units(
                    encoding.segment_text(seg), [encoding.spans[w] for w in idx]
                )
                names += seg_names
                unit_words += [[idx[k] for k in ws] for ws in seg_words]
        else:
            names = list(encoding.words)
            unit_words = [[i] for i in range(len(encoding.words))]
        unit_positions = [
            sorted(p for w in words for p in positions_of_word[w]) for words in unit_words
        ]
        keep = [i for i, pos in enumerate(unit_positions) if pos]
        space = FeatureSpace.from_units(
            encoding.input_ids,
            [names[i] for i in keep],
            [unit_positions[i] for i in keep],
            bow=self.bow,
            max_ngram=self.max_ngram,
        )
        return space, [unit_words[i] for i in keep]

    def official_features(self, encoding: TextEncoding, space: FeatureSpace | None = None) -> int:
        r"""How many features official ``LimeTextExplainer`` perturbs in ``encoding``'s text:
        its distinct ``\W+`` tokens (``bow=True``) among the words the model sees.

        This is the reference of ``row_budget="official"``: at the same ``n_samples`` the
        neighbourhood evaluates at most as many distinct texts as official LIME does on this
        text, in expectation. With official LIME's own features (``units="lime"``,
        ``bow=True``) it is the space's number of base features.
        """
        if self.units == "lime" and self.bow and space is not None:
            return space.n_base
        kept = encoding.n_words_kept
        names: set[str] = set()
        for seg in sorted(set(encoding.segments or [0])):
            idx = [w for w in range(kept) if encoding.word_segment(w) == seg]
            seg_names, _ = lime_units(encoding.segment_text(seg), [encoding.spans[w] for w in idx])
            names.update(seg_names)
        if names:
            return len(names)
        return space.n_base if space is not None else max(1, kept)

    def explain_encoding(
        self,
        encoding: TextEncoding,
        target: int | None = None,
        *,
        n_samples: int = 1000,
        random_state: int | None = None,
        perturbations_per_eval: int | None = None,
        show_progress: bool = False,
    ) -> tuple[LimeResult, np.ndarray]:
        """LIME on an encoded text: the result and one score per word of the encoding.

        A word's score is its unit's score (weight plus n-gram shares); with ``bow=True`` every
        occurrence of a string carries the string's weight; words LIME does not perturb score 0.
        """
        space, unit_words = self.space_for(encoding)
        result = self.explain_space(
            space,
            target,
            n_samples=n_samples,
            random_state=random_state,
            perturbations_per_eval=perturbations_per_eval,
            show_progress=show_progress,
            official_features=self.official_features(encoding, space),
        )
        return result, _word_scores(encoding, unit_words, result)

    def explain(
        self,
        text: str,
        *,
        target: int | str | None = None,
        n_samples: int = 1000,
        random_state: int | None = None,
        show_progress: bool = False,
    ) -> WordAttribution:
        """Explain one text: word scores plus LIME's extras, as a ``WordAttribution``.

        Args:
            text (str): the text.
            target (int or str, optional): class index or label. Default: the predicted class
            n_samples (int, optional): neighbourhood size. Default: 1000
            random_state (int, optional): seed. Default: the constructor's

        Returns:
            :class:`~captum_ext.result.WordAttribution` with ``method="lime"`` and ``extras``
            from :meth:`LimeResult.to_extras`.
        """
        if self.adapter is None:
            raise InputError(
                "explain() takes a text, which needs the adapter: TextLime(adapter) or "
                "TextLime(adapter.forward_func()); with a plain forward function call "
                "attribute(input_ids, ...)."
            )
        # the adapter's own precision, as attribute() and official LIME given this adapter use,
        # not the "lime" method family's default (TextLime is the drop-in class)
        explainer = TextLimeExplainer(
            self.adapter,
            lime=self,
            n_samples=n_samples,
            show_progress=show_progress,
            precision=self.adapter.precision,
        )
        seed = self.random_state if random_state is None else random_state
        return explainer.explain(text, target=target, random_state=seed)


def _word_scores(
    encoding: TextEncoding, unit_words: list[list[int]], result: LimeResult
) -> np.ndarray:
    """One score per word of ``encoding``: the score of each unit it belongs to."""
    word_scores = np.zeros(len(encoding.words))
    for u, words in enumerate(unit_words):
        word_scores[words] += result.unit_scores[u]
    return word_scores


def _check_model(model: Any) -> None:
    if not isinstance(model, Model) and not (
        hasattr(model, "fit") and hasattr(model, "representation")
    ):
        raise InputError(
            "interpretable_model must be a captum Model (fit, representation) or one of "
            f"{', '.join((*('ridge', 'ols', 'lasso', 'elastic_net', 'tree'), 'auto'))}, "
            f"got {type(model).__name__}."
        )


def _separated(low: np.ndarray, high: np.ndarray, weights: np.ndarray, k: int) -> bool:
    """Whether the top-k features by |weight| have intervals above every other feature's."""
    if len(weights) <= k:
        return True
    order = np.argsort(-np.abs(weights), kind="stable")
    crosses = (low <= 0) & (high >= 0)
    abs_low = np.where(crosses, 0.0, np.minimum(np.abs(low), np.abs(high)))
    abs_high = np.maximum(np.abs(low), np.abs(high))
    return bool(abs_low[order[:k]].min() > abs_high[order[k:]].max())


def _attention_mask(additional_forward_args: Any, inputs: Tensor) -> Tensor | None:
    if additional_forward_args is None:
        return None
    args = (
        additional_forward_args
        if isinstance(additional_forward_args, tuple)
        else (additional_forward_args,)
    )
    if len(args) == 0:
        return None
    mask = args[0]
    if len(args) > 1 or not isinstance(mask, Tensor) or mask.shape[-1] != inputs.shape[-1]:
        raise InputError(
            "additional_forward_args may only hold the attention mask of the inputs (same shape): "
            "TextLime calls the model through its adapter, which builds the other inputs."
        )
    if mask.shape[0] != inputs.shape[0]:
        mask = mask.expand(inputs.shape[0], -1)
    return mask


def _targets(target: Any, bsz: int) -> list[int | None]:
    if target is None:
        return [None] * bsz
    if isinstance(target, Tensor):
        target = target.reshape(-1).tolist()
    if isinstance(target, (int, np.integer)):
        return [int(target)] * bsz
    target = list(target)
    if len(target) == 1:
        return [int(target[0])] * bsz
    if len(target) != bsz:
        raise InputError(f"target has {len(target)} entries but the batch has {bsz} examples.")
    return [int(t) for t in target]


@dataclass
class _Job:
    """One text's neighbourhood between drawing and fitting: what the model must evaluate
    (:meth:`missing`), its outputs by mask (``cache``), and the draws (``masks``, ``w``)."""

    space: FeatureSpace
    n_samples: int
    seed: int | None
    rng: Any
    replace_id: int | None
    baseline: np.ndarray | None
    call: _Call | None
    official_features: int
    cache: dict[bytes, np.ndarray] = field(default_factory=dict)
    masks: np.ndarray | None = None
    w: np.ndarray | None = None
    n_nominal: int = 0

    def rows_of(self, masks: np.ndarray) -> list[list[int]]:
        return self.space.rows(masks, replace_id=self.replace_id, baseline=self.baseline)

    def missing(self, masks: np.ndarray) -> tuple[list[bytes], list[list[int]]]:
        """The distinct masks not evaluated yet (keys) and their token rows."""
        uniq = np.unique(masks, axis=0)
        keys = [row.tobytes() for row in uniq]
        todo = [i for i, k in enumerate(keys) if k not in self.cache]
        return [keys[i] for i in todo], self.rows_of(uniq[todo]) if todo else []

    def receive(self, keys: list[bytes], preds: np.ndarray) -> None:
        for k, p in zip(keys, preds, strict=True):
            self.cache[k] = p

    def outputs(self, masks: np.ndarray) -> np.ndarray:
        return np.stack([self.cache[row.tobytes()] for row in masks])


@dataclass
class _Call:
    """What one example of :meth:`TextLime.attribute` hands to the sampler and the model."""

    forward_args: tuple[Any, ...] = ()
    device: Any = None
    original: Any = None
    captum_kwargs: dict[str, Any] = field(default_factory=dict)


def _resolve_forward(first: Any, output: Any) -> tuple[Any, Callable[..., Any], str]:
    """``(adapter or None, forward function, output)`` from TextLime's first argument."""
    if all(hasattr(first, a) for a in ("predict_ids", "forward_func", "tokenizer")):
        out = "probs" if output is None else output
        check_output(out)
        return first, first.forward_func(out), out
    if callable(first):
        adapter = getattr(first, "adapter", None)
        if adapter is not None:  # adapter.forward_func(...): batched through the adapter
            given = str(getattr(first, "output", "probs"))
            if output is not None and output != given:
                raise InputError(
                    f"output={output!r} but the forward function gives {given!r}: pass "
                    f"adapter.forward_func({output!r}), or leave output out."
                )
            return adapter, first, given
        if output is not None:
            raise InputError(
                "output= chooses what an adapter's forward function returns; a plain forward "
                "function is explained as it is: leave output out, or pass the adapter."
            )
        return None, first, "forward"
    raise InputError(
        "TextLime's first argument must be a TextClassifierAdapter or a forward function "
        f"(Captum's forward_func), got {type(first).__name__}."
    )


def _similarity_form(func: Any) -> str | None:
    """``"captum"`` for Captum's ``similarity_func(original, perturbed, interpretable, **kw)``,
    ``"distances"`` for ``f(distances) -> weights``, ``None`` for LIME's kernel."""
    if func is None:
        return None
    if not callable(func):
        raise InputError(
            "similarity_func must be Captum's similarity_func(original_input, perturbed_input, "
            f"perturbed_interpretable_input, **kwargs) -> float, got {type(func).__name__}."
        )
    try:
        params = list(inspect.signature(func).parameters.values())
    except (TypeError, ValueError):
        return "captum"
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if any(p.kind == p.VAR_POSITIONAL for p in params) or len(positional) >= 3:
        return "captum"
    return "distances"


def _baseline_rows(baselines: Any, inputs: Tensor, default: int | None) -> np.ndarray | None:
    """Captum's ``baselines`` as one token-id row per example (or one for all), or None."""
    if baselines is None:
        if default is None:
            return None
        baselines = default
    if isinstance(baselines, tuple):
        if len(baselines) != 1:
            raise InputError(
                "baselines must be one token id or one tensor for one tensor of inputs."
            )
        baselines = baselines[0]
    base = torch.as_tensor(baselines)
    if base.is_floating_point() and bool((base != base.round()).any()):
        raise InputError(
            "baselines must be token ids (e.g. adapter.baselines(ids) or the pad id), got "
            "non-integer values: TextLime perturbs token ids."
        )
    bsz, seq_len = inputs.shape
    if base.numel() == 1:
        return np.full((1, seq_len), int(base.reshape(-1)[0].item()), dtype=np.int64)
    if base.dim() == 1:
        base = base[None, :]
    if base.dim() != 2 or base.shape[-1] != seq_len or base.shape[0] not in (1, bsz):
        raise InputError(
            f"baselines must be a token id or token ids shaped like the inputs ((batch or 1, "
            f"{seq_len}), e.g. adapter.baselines(ids)), got shape {tuple(base.shape)}."
        )
    return base.detach().cpu().numpy().astype(np.int64)


def _forward_args(additional_forward_args: Any, bsz: int) -> tuple[Any, ...]:
    if additional_forward_args is None:
        return ()
    if isinstance(additional_forward_args, tuple):
        return additional_forward_args
    return (additional_forward_args,)


def _row(arg: Any, b: int, bsz: int) -> Any:
    """Example ``b`` of a batched forward argument (tensors with one row per example)."""
    if isinstance(arg, Tensor) and arg.dim() > 0 and arg.shape[0] == bsz and bsz > 1:
        return arg[b : b + 1]
    return arg


def _expand(arg: Any, n: int) -> Any:
    """A one-row tensor repeated for ``n`` perturbed rows (Captum expands them the same way)."""
    if isinstance(arg, Tensor) and arg.dim() > 0 and arg.shape[0] == 1 and n > 1:
        return arg.expand(n, *arg.shape[1:])
    return arg


# -- the registry face: lime, lime-ngram, lime-tree ------------------------------------------


class TextLimeExplainer(BatchedTextExplainer):
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
        texts_per_call (int, optional): texts whose perturbed rows go through one length-sorted
            adapter call in :meth:`explain_many` (each text's neighbourhood is drawn as when it
            is explained alone, so the results are the same). Not with ``adaptive``, a Captum
            ``perturb_func`` or a Captum-style ``similarity_func`` (those run text by text).
            Default: 8
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
        texts_per_call: int = 8,
        **lime_settings: Any,
    ) -> None:
        check_scalar(n_samples, "n_samples", min_val=1)
        check_scalar(texts_per_call, "texts_per_call", min_val=1)
        if lime is None:
            lime = TextLime(adapter, interpretable_model=surrogate, **lime_settings)
        elif lime.adapter is None:
            raise InputError(
                "lime must be a TextLime built on the adapter: TextLime(adapter, ...)."
            )
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
        self.texts_per_call = int(texts_per_call)

    def _explain_batch(self, items: list[Prepared]) -> list[Scores]:
        return self._explain_batch_seeded(items, None)

    def _explain_batch_seeded(
        self, items: list[Prepared], random_state: int | None
    ) -> list[Scores]:
        """Every text's neighbourhood drawn as alone, their rows in one adapter call, then fits."""
        lime = self.lime
        if len(items) == 1 or not lime.draws_without_the_model():
            return [self._explain_one(p, random_state) for p in items]
        jobs = []
        for p in items:
            space, unit_words = lime.space_for(p.encoding)
            job = lime._begin(
                space,
                self.n_samples,
                random_state,
                official_features=lime.official_features(p.encoding, space),
            )
            lime._draw_first(job)
            jobs.append((job, unit_words))
        rows: list[list[int]] = []
        slots = []
        for job, _ in jobs:
            assert job.masks is not None
            keys, job_rows = job.missing(job.masks)
            slots.append((keys, len(rows), len(rows) + len(job_rows)))
            rows.extend(job_rows)
        if rows:
            preds = lime._predict(rows, None, self.show_progress)
            for (job, _), (keys, a, b) in zip(jobs, slots, strict=True):
                job.receive(keys, preds[a:b])
        out = []
        for p, (job, unit_words) in zip(items, jobs, strict=True):
            result = lime._finish(job, p.target, None, False)
            out.append(
                Scores(
                    word_scores=_word_scores(p.encoding, unit_words, result),
                    extras=result.to_extras(),
                )
            )
        return out

    def _explain_one(self, p: Prepared, random_state: int | None) -> Scores:
        result, word_scores = self.lime.explain_encoding(
            p.encoding,
            p.target,
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
