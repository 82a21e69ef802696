"""Sample-level attribution: which training tweets a prediction rests on, and which training
labels are probably wrong, as Captum :class:`~captum.influence.DataInfluence` methods.

* :class:`HeadFeatureExtractor` and :class:`CachedFeatures`: the classifier head's input,
  computed once per (model, texts) and cached on disk, resumably.
* :class:`RepresenterPoints`: representer points (Yeh et al., NeurIPS 2018).
* :class:`FeatureSimilarityKNN`: nearest training tweets in feature space, sparse-data and
  label-disagreement audits.
* :class:`MislabelAudit`: mislabeled-tweet ranking combining representer weights, kNN label
  disagreement and cross-fitted out-of-sample predictions.
* :func:`cross_fit_finetune`: out-of-sample predictions of models fine-tuned on K folds (each
  tweet predicted by a model that never saw it), cached and resumable.
* :class:`TracInInfluence`: Captum's ``TracInCP`` / ``TracInCPFast`` on the adapter's model.
* :mod:`~captum_ext.influence.registry`: the sample-level methods by name
  (:func:`list_sample_methods`, :func:`make_sample_method`).
* :func:`judge_sample_methods`: test-dependence, model-randomisation, label-agreement and
  planted-shortcut checks of every sample-level method, and which one to believe.
* :class:`InfluenceResult`: indices and scores with the training texts and labels
  (``to_frame()``, ``to_dict()``, ``captum()``).
"""

from captum_ext.influence.audit import (
    AUDIT_METHODS,
    MislabelAudit,
    cross_fitted_probs,
    precision_at,
    rank_average,
)
from captum_ext.influence.crossfit import (
    CrossFitResult,
    cross_fit_finetune,
    default_crossfit_cache_dir,
    stratified_folds,
)
from captum_ext.influence.features import (
    CachedFeatures,
    HeadFeatureExtractor,
    default_feature_cache_dir,
    find_head,
    texts_fingerprint,
)
from captum_ext.influence.judge import SampleJudgement, judge_sample_methods, sample_verdict
from captum_ext.influence.knn import FeatureSimilarityKNN, exact_top_k, similarity
from captum_ext.influence.registry import (
    SampleMethodSpec,
    get_sample_method,
    list_sample_methods,
    make_sample_method,
    register_sample_method,
)
from captum_ext.influence.representer import RepresenterPoints
from captum_ext.influence.results import InfluenceResult
from captum_ext.influence.tracin import TracInInfluence

__all__ = [
    "AUDIT_METHODS",
    "CachedFeatures",
    "CrossFitResult",
    "FeatureSimilarityKNN",
    "HeadFeatureExtractor",
    "InfluenceResult",
    "MislabelAudit",
    "RepresenterPoints",
    "SampleJudgement",
    "SampleMethodSpec",
    "TracInInfluence",
    "cross_fit_finetune",
    "cross_fitted_probs",
    "default_crossfit_cache_dir",
    "default_feature_cache_dir",
    "exact_top_k",
    "find_head",
    "get_sample_method",
    "judge_sample_methods",
    "list_sample_methods",
    "make_sample_method",
    "precision_at",
    "rank_average",
    "register_sample_method",
    "sample_verdict",
    "similarity",
    "stratified_folds",
    "texts_fingerprint",
]
