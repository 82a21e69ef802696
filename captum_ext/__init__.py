"""captum-ext: explain text classifiers with Captum, SHAP and LIME, and compare the explanations."""

from captum_ext.errors import CaptumExtError, DataError, InputError, ModelLoadError

__version__ = "0.1.0"

__all__ = ["CaptumExtError", "DataError", "InputError", "ModelLoadError", "TextLime", "__version__"]


def __getattr__(name: str):
    if name == "TextLime":  # imported on first use: the command line starts without captum
        from captum_ext.attr.text_lime import TextLime

        return TextLime
    raise AttributeError(f"module 'captum_ext' has no attribute {name!r}")
