"""The built-in metrics, one module each; each registers itself (see
:mod:`captum_ext.metrics.protocol`)."""
