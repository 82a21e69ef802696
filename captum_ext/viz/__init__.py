"""Plots, escaped HTML, ``shap.Explanation`` and Captum ``VisualizationDataRecord`` export."""

from captum_ext.viz.html import (
    HTMLFragment,
    attribution_html,
    compare_html,
    html_page,
    score_color,
)

__all__ = [
    "HTMLFragment",
    "attribution_html",
    "compare_html",
    "html_page",
    "score_color",
]
