"""The one registry of token-level methods: name → factory.

The command line, the agreement harness, the docs and the tests read it. Adding a method is one
module that calls :func:`register_method` plus one line in ``_BUILTIN_MODULES``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from captum_ext.errors import UnknownMethodError

__all__ = [
    "FAMILY_PRECISION",
    "MethodSpec",
    "family_precision",
    "get_method",
    "list_methods",
    "make_explainer",
    "register_method",
]

# Modules that register built-in methods when imported (one line per method module).
_BUILTIN_MODULES: tuple[str, ...] = (
    "captum_ext.methods.integrated_gradients",
    "captum_ext.methods.lime_official",
    "captum_ext.methods.shap_partition",
    "captum_ext.attr.text_lime",
    "captum_ext.methods.gradients",
    "captum_ext.methods.occlusion",
    "captum_ext.methods.captum_perturbation",
    "captum_ext.methods.attention",
)

_REGISTRY: dict[str, MethodSpec] = {}

# The precision a method family runs in when neither the method nor the adapter names one.
# Decided by measurement (benchmarks/bench_precision.py, docs/methods.md "Precision"): a half
# precision is a family's default only where, on 50 tweets, the top-5 words agree with fp32
# (Jaccard >= 0.95 averaged over the family's methods and tweets) and max |Δp| <= 0.01.
# It must also be clearly faster (>= 1.5x; a default that departs from fp32 references must buy a
# gain larger than timing noise). Measured on 50 tweets on a CPU with native bf16: bf16 passes the
# agreement rule in every family; perturbation methods run 1.55-1.77x faster (default "auto": bf16
# on native-bf16 CPUs and on CUDA, fp32 on CPUs without bf16 units, where bf16 is emulated), gradient
# methods 1.12x and attention 1.23x (kept fp32).
FAMILY_PRECISION: dict[str, str] = {
    "gradient": "fp32",
    "perturbation": "auto",
    "attention": "fp32",
}
_loaded = False


@dataclass(frozen=True)
class MethodSpec:
    """A registered method.

    Attributes:
        name: registry name (``captum-ext explain --method NAME``).
        factory: ``factory(adapter, **settings) -> TextExplainer``.
        description: one line for ``captum-ext methods``.
        family: ``"gradient"``, ``"perturbation"``, ``"attention"``, ...
        signed: whether a positive score pushes towards the target class (else magnitudes only).
        stochastic: whether results depend on ``random_state``.
        source: where the algorithm comes from (``"captum"``, ``"shap"``, ``"lime"``, ``"captum-ext"``).
        defaults: default settings (budgets), shown by ``captum-ext methods --json``.
    """

    name: str
    factory: Callable[..., Any]
    description: str
    family: str
    signed: bool = True
    stochastic: bool = False
    source: str = "captum-ext"
    defaults: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "family": self.family,
            "signed": self.signed,
            "stochastic": self.stochastic,
            "source": self.source,
            "defaults": dict(self.defaults),
            "precision": FAMILY_PRECISION.get(self.family, "fp32"),
        }


def register_method(spec: MethodSpec, *, replace: bool = False) -> MethodSpec:
    """Add a method to the registry (``replace=True`` to override one of the same name)."""
    if spec.name in _REGISTRY and not replace:
        raise ValueError(f"a method named {spec.name!r} is already registered")
    _REGISTRY[spec.name] = spec
    return spec


def _load_builtins() -> None:
    global _loaded
    if not _loaded:
        _loaded = True
        for mod in _BUILTIN_MODULES:
            importlib.import_module(mod)


def list_methods() -> list[MethodSpec]:
    """Every registered method, sorted by name.

    Examples::

        >>> from captum_ext.methods import list_methods
        >>> "ig" in [m.name for m in list_methods()]
        True
    """
    _load_builtins()
    return [_REGISTRY[k] for k in sorted(_REGISTRY)]


def get_method(name: str) -> MethodSpec:
    """The registered method ``name``, or :class:`UnknownMethodError` listing the known names."""
    _load_builtins()
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY))
        raise UnknownMethodError(
            f"unknown method {name!r}: choose one of {known} (see `captum-ext methods`)."
        ) from None


def family_precision(name: str) -> str:
    """The default precision of method ``name``: its family's (``"fp32"`` if not registered).

    Examples::

        >>> from captum_ext.methods import family_precision
        >>> family_precision("ig") in ("fp32", "bf16", "fp16", "auto")
        True
    """
    _load_builtins()
    spec = _REGISTRY.get(name)
    return FAMILY_PRECISION.get(spec.family, "fp32") if spec is not None else "fp32"


def make_explainer(name: str, adapter: Any, **settings: Any) -> Any:
    """Build the explainer ``name`` on ``adapter``; ``settings`` override the method's defaults."""
    spec = get_method(name)
    return spec.factory(adapter, **{**spec.defaults, **settings})
