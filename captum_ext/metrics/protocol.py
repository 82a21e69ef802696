r"""The metric protocol and the one registry of metrics: name → metric.

A metric is one module that defines a :class:`Metric` subclass and calls :func:`register_metric`,
plus one line in ``_BUILTIN_MODULES`` below; the harness runner, the summary, the verdict and the
report iterate :func:`list_metrics` and need no change (docs/architecture.md has a worked example).

Every metric declares:

* ``name``, ``label`` (short, for tables), ``description`` and ``reference`` (the paper or the
  reference implementation it is tested against);
* ``family``: one of :data:`FAMILIES` (faithfulness, randomisation, robustness, stability, cost,
  ground truth);
* ``higher_is_better``: its direction;
* ``stage``: what it needs, which tells the runner how to compute it:

  - ``"rows"`` (:class:`RowMetric`): perturbed token-id rows of the explained text, built from
    the explanation's ranking/importance by :meth:`RowMetric.rows`, scored by
    :meth:`RowMetric.score` from the probability of the explained class on each row. The runner
    builds the rows of every row metric, every method and the random baseline of a chunk of texts
    and evaluates their union in one adapter call;
  - ``"variants"`` (:class:`VariantMetric`): explanations of variants of the text (another
    target class, a meaning-preserving edit of the text, the model with its top layers
    re-initialised), declared by :meth:`VariantMetric.variants` and scored against the original
    explanation by :meth:`VariantMetric.score`. The runner computes them on a subset of the
    texts (``RunConfig.sanity_texts``);
  - ``"records"`` (:class:`RecordMetric`): computed from the run's typed records alone
    (:mod:`captum_ext.harness.store`; stability across seeds, cost), per text and method.

All three give one number per (text, method); the summary gathers them into one long table
(``text_id``, ``method``, ``metric``, ``value``) that the verdict reads.

Examples::

    >>> from captum_ext.metrics.protocol import list_metrics, get_metric
    >>> get_metric("comprehensiveness").higher_is_better
    True
    >>> sorted({m.family for m in list_metrics()})
    ['cost', 'faithfulness', 'ground_truth', 'randomisation', 'robustness', 'stability']
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from captum_ext.errors import InputError

if TYPE_CHECKING:
    from captum_ext.harness.store import Record

__all__ = [
    "FAMILIES",
    "Metric",
    "RecordMetric",
    "RowContext",
    "RowMetric",
    "Variant",
    "VariantMetric",
    "get_metric",
    "list_metrics",
    "metrics_of",
    "register_metric",
]

#: The metric families, in the order the report shows them.
FAMILIES: tuple[str, ...] = (
    "faithfulness",
    "randomisation",
    "robustness",
    "stability",
    "cost",
    "ground_truth",
)

# Modules that register built-in metrics when imported (one line per metric module).
_BUILTIN_MODULES: tuple[str, ...] = (
    "captum_ext.metrics.builtin.comprehensiveness",
    "captum_ext.metrics.builtin.sufficiency",
    "captum_ext.metrics.builtin.deletion_auc",
    "captum_ext.metrics.builtin.insertion_auc",
    "captum_ext.metrics.builtin.soft_comprehensiveness",
    "captum_ext.metrics.builtin.soft_sufficiency",
    "captum_ext.metrics.builtin.loo_correlation",
    "captum_ext.metrics.builtin.randomisation",
    "captum_ext.metrics.builtin.random_logit",
    "captum_ext.metrics.builtin.robustness",
    "captum_ext.metrics.builtin.stability",
    "captum_ext.metrics.builtin.cost",
    "captum_ext.metrics.builtin.planted_recall",
)

_REGISTRY: dict[str, Metric] = {}
_loaded = False


class Metric:
    """Base of every metric (see the module for what each attribute means)."""

    name: ClassVar[str]
    label: ClassVar[str]
    family: ClassVar[str]
    higher_is_better: ClassVar[bool]
    stage: ClassVar[str]
    description: ClassVar[str] = ""
    reference: ClassVar[str] = ""
    #: whether the random-ranking baseline is scored too (row metrics)
    has_random_baseline: ClassVar[bool] = False

    def to_dict(self) -> dict[str, Any]:
        """Everything but the code, in JSON types (``summary.json``, ``captum-ext`` docs)."""
        return {
            "name": self.name,
            "label": self.label,
            "family": self.family,
            "higher_is_better": self.higher_is_better,
            "stage": self.stage,
            "description": self.description,
            "reference": self.reference,
        }


@dataclass(frozen=True)
class RowContext:
    """What a row metric sees of one text and one explanation (or one random ranking).

    Attributes:
        input_ids: the text's token ids, special tokens included.
        token_to_word: word index of each token (``None`` for special tokens).
        order: the words the model saw, most important first (every seen word once).
        importance: ``{word: importance}`` of the seen words (:meth:`WordAttribution.importance`;
            for the random baseline, uniform random numbers that agree with ``order``).
        seed: seed of stochastic metrics (fixed per text, method and run seed).
        signed: whether the explanation's sign is meaningful (``False``: magnitudes only).
        settings: the run's metric settings (``bins``, ``max_steps``, ``n_soft``, ...).
    """

    input_ids: Sequence[int]
    token_to_word: Sequence[int | None]
    order: list[int]
    importance: Mapping[int, float]
    seed: int = 0
    signed: bool = True
    settings: Mapping[str, Any] = field(default_factory=dict)

    @property
    def n_words(self) -> int:
        return len(self.order)


class RowMetric(Metric):
    """A metric scored from the model's probability of the explained class on perturbed rows."""

    stage: ClassVar[str] = "rows"
    has_random_baseline: ClassVar[bool] = True

    def rows(self, ctx: RowContext) -> list[list[int]]:
        """The token-id rows to evaluate (the runner batches them with every other metric's)."""
        raise NotImplementedError

    def score(self, ctx: RowContext, p_full: float, values: np.ndarray) -> float:
        """The metric from ``p_full`` (the whole text) and ``values`` (one per row of
        :meth:`rows`, in order)."""
        raise NotImplementedError

    def details(self, ctx: RowContext, p_full: float, values: np.ndarray) -> dict[str, Any]:
        """Extra per-text values kept in the record (curves for the report); none by default."""
        return {}


@dataclass(frozen=True)
class Variant:
    """An explanation a variant metric needs besides the original one.

    Attributes:
        name: unique within the metric (``"model:head"``, ``"target:0"``, ``"edit:mention"``).
        text: the text to explain (the original or an edit of it).
        target: the class to explain.
        model: ``None`` for the trained model, else a randomisation level
            (:func:`captum_ext.metrics.randomise.randomised`: ``"head"``, ``"top1"``, ``"all"``).
        offset: where the original text starts inside ``text`` (edits that add a prefix).
    """

    name: str
    text: str
    target: int
    model: str | None = None
    offset: int = 0


class VariantMetric(Metric):
    """A metric comparing the explanation with explanations of variants of the input or model."""

    stage: ClassVar[str] = "variants"

    def variants(
        self, text: str, target: int, probs: np.ndarray, settings: Mapping[str, Any], seed: int
    ) -> list[Variant]:
        raise NotImplementedError

    def score(self, original: Any, variants: Mapping[str, Any]) -> float:
        """The metric from the original :class:`WordAttribution` and ``{variant name:
        WordAttribution}`` (a variant whose explanation failed is missing)."""
        raise NotImplementedError

    def details(self, original: Any, variants: Mapping[str, Any]) -> dict[str, Any]:
        return {}


class RecordMetric(Metric):
    """A metric computed from the run's records alone: ``{(text_id, method): value}``.

    ``records`` are the typed records of :mod:`captum_ext.harness.store` (every kind, every
    seed: pick with ``isinstance``, e.g. :class:`~captum_ext.harness.store.AttributionRecord`).
    """

    stage: ClassVar[str] = "records"

    def compute(
        self, records: Sequence[Record], *, random_state: int, k: int
    ) -> dict[tuple[str, str], float]:
        raise NotImplementedError


def register_metric(metric: Metric, *, replace: bool = False) -> Metric:
    """Add a metric to the registry (``replace=True`` to override one of the same name)."""
    if metric.family not in FAMILIES:
        raise InputError(f"family must be one of {', '.join(FAMILIES)}, got {metric.family!r}.")
    if metric.stage not in ("rows", "variants", "records"):
        raise InputError(f"stage must be 'rows', 'variants' or 'records', got {metric.stage!r}.")
    if metric.name in _REGISTRY and not replace:
        raise ValueError(f"a metric named {metric.name!r} is already registered")
    _REGISTRY[metric.name] = metric
    return metric


def _load_builtins() -> None:
    global _loaded
    if not _loaded:
        _loaded = True
        for mod in _BUILTIN_MODULES:
            importlib.import_module(mod)


def list_metrics() -> list[Metric]:
    """Every registered metric, by family (in :data:`FAMILIES` order), then registration order."""
    _load_builtins()
    order = {f: i for i, f in enumerate(FAMILIES)}
    return sorted(_REGISTRY.values(), key=lambda m: order[m.family])


def metrics_of(stage: str | None = None, family: str | None = None) -> list[Metric]:
    """The registered metrics of one stage and/or family."""
    return [
        m
        for m in list_metrics()
        if (stage is None or m.stage == stage) and (family is None or m.family == family)
    ]


def get_metric(name: str) -> Metric:
    """The registered metric ``name``."""
    _load_builtins()
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY))
        raise InputError(f"unknown metric {name!r}: choose one of {known}.") from None
