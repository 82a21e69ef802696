"""captum-ext: explain text classifiers with Captum, SHAP and LIME, and compare the explanations."""

from captum_ext.errors import CaptumExtError, DataError, InputError, ModelLoadError

__version__ = "0.1.0"

__all__ = ["CaptumExtError", "DataError", "InputError", "ModelLoadError", "__version__"]
