"""Engines that spread dataset-sized jobs over processes or machines (optional extras).

:class:`RayEngine` (Ray is imported only when one is made: ``pip install 'captum-ext[ray]'``)
runs ``compare`` (:func:`~captum_ext.engines.ray_compare.run_compare_ray`), the influence
feature cache (``HeadFeatureExtractor(..., engine=)``, behind ``audit`` and ``influence``) and
SP-LIME (``SubmodularPick(..., engine=)``, behind ``pick``) on Ray actors, one model per actor.
"""

from captum_ext.engines._ray import RayEngine

__all__ = ["RayEngine"]
