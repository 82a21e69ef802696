"""Every docstring example in captum_ext (captum_ext.adapters included) runs and prints what it shows.

Examples that need the fine-tuned default model are marked ``+SKIP`` (unit tests run before it
exists on a fresh machine); the README and the executed docs tutorials run that code.
"""

from __future__ import annotations

import doctest
import importlib

import matplotlib
import pytest
from shared_fixtures import one_thread  # noqa: F401 (autouse fixture)

from tests.conftest import package_modules

matplotlib.use("Agg")


MODULES = package_modules()
# the docs tutorials copy these modules' examples: they must have some, not only pass
MUST_HAVE_EXAMPLES = {
    f"captum_ext.viz.{m}" for m in ("html", "shap_interop", "captum_interop", "plots")
}


def test_the_modules_are_found():
    # a guard against the walk silently finding nothing (the parametrised tests would then pass)
    assert {"captum_ext.adapters.hf", "captum_ext.attr.text_lime", "captum_ext.viz.plots"} <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    import matplotlib.pyplot as plt

    module = importlib.import_module(name)
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    result = doctest.testmod(module, optionflags=flags, report=True)
    plt.close("all")
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"
    if name in MUST_HAVE_EXAMPLES:
        assert result.attempted > 0, f"{name} has no examples"
