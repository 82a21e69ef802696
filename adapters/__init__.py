"""Adapters: one wrapper around a Hugging Face sequence classifier for Captum, SHAP and LIME."""

from captum_ext.adapters.alignment import TextEncoding, encode_text
from captum_ext.adapters.hf import TextClassifierAdapter, validate_text

__all__ = ["TextClassifierAdapter", "TextEncoding", "encode_text", "validate_text"]
