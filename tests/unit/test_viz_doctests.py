"""The docstring examples of captum_ext.viz run (docs tutorials copy them)."""

from __future__ import annotations

import doctest
import importlib

import matplotlib
import pytest

matplotlib.use("Agg")

MODULES = ["html", "shap_interop", "captum_interop", "plots"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    import matplotlib.pyplot as plt

    module = importlib.import_module(f"captum_ext.viz.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    plt.close("all")
    assert result.attempted > 0, f"{name} has no examples"
    assert result.failed == 0
