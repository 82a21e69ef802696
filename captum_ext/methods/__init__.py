"""Token-level methods: the registry and the shared explainer base."""

from captum_ext.methods.base import Scores, TextExplainer
from captum_ext.methods.registry import (
    MethodSpec,
    family_precision,
    get_method,
    list_methods,
    make_explainer,
    register_method,
)

__all__ = [
    "MethodSpec",
    "Scores",
    "TextExplainer",
    "family_precision",
    "get_method",
    "list_methods",
    "make_explainer",
    "register_method",
]
