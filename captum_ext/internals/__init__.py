"""Inside the model: attention views, contextual-embedding maps, word-in-context distances, head
importance and pruning, and layer probes.

Every forward pass goes through :class:`captum_ext.adapters.TextClassifierAdapter` (``map_batches``,
``attentions``, ``forward_func``); results are data frames or small result objects that plot
(PNG/SVG), write self-contained escaped HTML and dump JSON.

Examples::

    >>> from captum_ext.internals import tweet_properties
    >>> tweet_properties(["@bob this is not fun =("]).iloc[0].to_dict()
    {'negation': True, 'mention': True, 'emoticon': True}
"""

from captum_ext.internals.attention import AttentionMaps, attention_maps
from captum_ext.internals.embeddings import (
    EmbeddingMap,
    embedding_map,
    project,
    sentence_embeddings,
    token_embeddings,
)
from captum_ext.internals.heads import (
    HeadImportance,
    HeadMask,
    evaluate_with_mask,
    gradient_head_importance,
    head_importance,
    masking_head_importance,
    normalize_by_layer,
    plot_pruning_curves,
    prunable_fraction,
    pruning_curve,
    pruning_order,
)
from captum_ext.internals.probes import (
    PROPERTIES,
    FeatureCache,
    ProbeResults,
    control_labels,
    layer_features,
    probe,
    probe_layers,
    tweet_properties,
)
from captum_ext.internals.word_in_context import EXAMPLE_CONTEXTS, WordInContext, word_in_context

__all__ = [
    "EXAMPLE_CONTEXTS",
    "PROPERTIES",
    "AttentionMaps",
    "EmbeddingMap",
    "FeatureCache",
    "HeadImportance",
    "HeadMask",
    "ProbeResults",
    "WordInContext",
    "attention_maps",
    "control_labels",
    "embedding_map",
    "evaluate_with_mask",
    "gradient_head_importance",
    "head_importance",
    "layer_features",
    "masking_head_importance",
    "normalize_by_layer",
    "plot_pruning_curves",
    "probe",
    "probe_layers",
    "project",
    "prunable_fraction",
    "pruning_curve",
    "pruning_order",
    "sentence_embeddings",
    "token_embeddings",
    "tweet_properties",
    "word_in_context",
]
