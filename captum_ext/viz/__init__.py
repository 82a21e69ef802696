"""Plots, escaped HTML, ``shap.Explanation`` and Captum ``VisualizationDataRecord`` export."""

from captum_ext.viz.captum_interop import to_visualization_record, visualize_text
from captum_ext.viz.html import (
    HTMLFragment,
    attribution_html,
    compare_html,
    html_page,
    score_color,
)
from captum_ext.viz.shap_interop import base_value, text_pieces, to_shap_explanation

__all__ = [
    "HTMLFragment",
    "attribution_html",
    "compare_html",
    "html_page",
    "score_color",
    "base_value",
    "text_pieces",
    "to_shap_explanation",
    "to_visualization_record",
    "visualize_text",
]
