"""The registry of sample-level methods: name → factory, as :mod:`captum_ext.methods.registry` is
for token-level methods.

Every factory is called as ``factory(adapter, train_dataset, **settings)`` and returns a
:class:`captum.influence.DataInfluence` whose ``influence(texts, k=None)`` gives the
``(n_texts, n_train)`` scores (larger = more in favour of the prediction) and whose
``explain(texts, k)`` gives an :class:`~captum_ext.influence.InfluenceResult`. The judge
(:mod:`captum_ext.influence.judge`) and ``captum-ext influence --judge`` iterate it. Adding a
method is one :func:`register_sample_method` call.

Examples::

    >>> from captum_ext.influence.registry import list_sample_methods
    >>> [m.name for m in list_sample_methods()]
    ['knn', 'representer', 'tracincp', 'tracincp-fast']
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from captum_ext.errors import UnknownMethodError

__all__ = [
    "SampleMethodSpec",
    "get_sample_method",
    "list_sample_methods",
    "make_sample_method",
    "register_sample_method",
]


@dataclass(frozen=True)
class SampleMethodSpec:
    """A registered sample-level method.

    Attributes:
        name: registry name.
        factory: ``factory(adapter, train_dataset, **settings) -> DataInfluence``.
        description: one line.
        source: where the algorithm comes from (``"captum"``, ``"captum-ext"``).
        reference: the paper.
        defaults: default settings.
        feature_cache: whether the factory takes ``cache_dir`` (the head-feature cache).
    """

    name: str
    factory: Callable[..., Any]
    description: str
    source: str = "captum-ext"
    reference: str = ""
    defaults: dict[str, Any] = field(default_factory=dict)
    feature_cache: bool = False


_REGISTRY: dict[str, SampleMethodSpec] = {}


def register_sample_method(spec: SampleMethodSpec, *, replace: bool = False) -> SampleMethodSpec:
    """Add a sample-level method (``replace=True`` to override one of the same name)."""
    if spec.name in _REGISTRY and not replace:
        raise ValueError(f"a sample-level method named {spec.name!r} is already registered")
    _REGISTRY[spec.name] = spec
    return spec


def list_sample_methods() -> list[SampleMethodSpec]:
    """Every registered sample-level method, sorted by name."""
    return [_REGISTRY[k] for k in sorted(_REGISTRY)]


def get_sample_method(name: str) -> SampleMethodSpec:
    """The method ``name``, or :class:`UnknownMethodError` listing the known names."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UnknownMethodError(
            f"unknown sample-level method {name!r}: choose one of {', '.join(sorted(_REGISTRY))}."
        ) from None


def make_sample_method(name: str, adapter: Any, train_dataset: Any, **settings: Any) -> Any:
    """Build the method ``name`` on ``adapter`` and ``train_dataset``; ``settings`` override
    its defaults."""
    spec = get_sample_method(name)
    return spec.factory(adapter, train_dataset, **{**spec.defaults, **settings})


# -- built-in methods ---------------------------------------------------------------------------
def _representer(adapter: Any, train: Any, **settings: Any) -> Any:
    from captum_ext.influence.representer import RepresenterPoints

    return RepresenterPoints(adapter, train, **settings)


def _knn(adapter: Any, train: Any, **settings: Any) -> Any:
    from captum_ext.influence.knn import FeatureSimilarityKNN

    return FeatureSimilarityKNN(adapter, train, **settings)


def _tracin(fast: bool) -> Callable[..., Any]:
    def factory(adapter: Any, train: Any, **settings: Any) -> Any:
        from captum_ext.influence.tracin import TracInInfluence

        return TracInInfluence(adapter, train, fast=fast, **settings)

    return factory


register_sample_method(
    SampleMethodSpec(
        "representer", _representer,
        "representer points: each training tweet's share of the predicted logit",
        reference="Yeh et al., NeurIPS 2018", defaults={"target": "model"}, feature_cache=True,
    )
)  # fmt: skip
register_sample_method(
    SampleMethodSpec(
        "knn", _knn, "nearest training tweets in the classifier head's feature space (cosine)",
        reference="TrustAI FeatureSimilarityModel; Captum SimilarityInfluence",
        defaults={"metric": "cosine"}, feature_cache=True,
    )
)  # fmt: skip
register_sample_method(
    SampleMethodSpec(
        "tracincp", _tracin(False),
        "Captum TracInCP at the final weights: gradient dot products of the head, pooler and "
        "top layer", source="captum", reference="Pruthi et al., NeurIPS 2020",
    )
)  # fmt: skip
register_sample_method(
    SampleMethodSpec(
        "tracincp-fast", _tracin(True),
        "Captum TracInCPFast at the final weights: gradient dot products of the head weight",
        source="captum", reference="Pruthi et al., NeurIPS 2020",
    )
)  # fmt: skip
