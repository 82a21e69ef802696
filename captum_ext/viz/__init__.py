"""Plots, escaped HTML, ``shap.Explanation`` and Captum ``VisualizationDataRecord`` export.

- :mod:`~captum_ext.viz.html`: word colouring of one result, several methods side by side
  (escaped, inline CSS), :func:`html_page`.
- :mod:`~captum_ext.viz.shap_interop`: :func:`to_shap_explanation` for ``shap.plots.text``,
  ``shap.plots.bar`` and ``shap.plots.waterfall``; :func:`shap_bar` and :func:`shap_waterfall`
  draw them labelled with the method and the unit (a surrogate's ``g(x)`` beside the model's
  ``f(x)``).
- :mod:`~captum_ext.viz.captum_interop`: :func:`to_visualization_record` for Captum's
  ``visualize_text``, and a :func:`visualize_text` that escapes.
- :mod:`~captum_ext.viz.plots`: word heat strip, agreement heatmap, deletion curves, tree
  surrogate, representer proponents/opponents (PNG, SVG, HTML).
"""

from captum_ext.viz.captum_interop import to_visualization_record, visualize_text
from captum_ext.viz.html import (
    HTMLFragment,
    attribution_html,
    compare_html,
    html_page,
    score_color,
)
from captum_ext.viz.plots import (
    PlotFigure,
    plot_agreement_heatmap,
    plot_deletion_curves,
    plot_representer,
    plot_tree_surrogate,
    plot_word_heatmap,
)
from captum_ext.viz.shap_interop import (
    base_value,
    shap_bar,
    shap_waterfall,
    text_pieces,
    to_shap_explanation,
    value_label,
)

__all__ = [
    # html
    "HTMLFragment",
    "attribution_html",
    "compare_html",
    "html_page",
    "score_color",
    # shap
    "base_value",
    "shap_bar",
    "shap_waterfall",
    "text_pieces",
    "to_shap_explanation",
    "value_label",
    # captum
    "to_visualization_record",
    "visualize_text",
    # plots
    "PlotFigure",
    "plot_agreement_heatmap",
    "plot_deletion_curves",
    "plot_representer",
    "plot_tree_surrogate",
    "plot_word_heatmap",
]
