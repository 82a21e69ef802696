"""Token-level Captum attributions: TextLime, its surrogates and the submodular pick (SP-LIME)."""

from captum_ext.attr.perturbation import FeatureSpace
from captum_ext.attr.submodular import SparseExplanation, SubmodularPick, coverage_pick
from captum_ext.attr.surrogates import LinearSurrogate, TreeSurrogate, make_surrogate
from captum_ext.attr.text_lime import LimeResult, TextLime

__all__ = [
    "FeatureSpace",
    "LimeResult",
    "LinearSurrogate",
    "SparseExplanation",
    "SubmodularPick",
    "TextLime",
    "TreeSurrogate",
    "coverage_pick",
    "make_surrogate",
]
