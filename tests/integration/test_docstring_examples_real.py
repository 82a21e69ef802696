"""The docstring examples that need the fine-tuned default model run and print what they show.

The unit tests (tests/unit/test_doctests.py) run every example except those marked ``+SKIP``
(they need the default model, which does not exist yet when unit tests run on a fresh
machine). Here each docstring holding such examples runs whole, with the SKIP option stripped,
against the real default model, in a temporary working directory and with the feature and
fold-model caches in temporary folders (as on a fresh machine).
"""

from __future__ import annotations

import copy
import doctest
import importlib
import io

import matplotlib
import pytest
import torch

from tests.conftest import package_modules

matplotlib.use("Agg")

pytestmark = pytest.mark.integration

# docstrings (DocTest names) too heavy to run here, each with the reason
EXCLUDED = {
    "captum_ext.train": "fine-tunes a model (11 s)",
    "captum_ext.train.finetune.finetune": "fine-tunes a model (14 s)",
    "captum_ext.influence.crossfit.cross_fit_finetune": "fine-tunes two fold models (minutes)",
    "captum_ext.influence.audit.MislabelAudit": "its cross-fit part fine-tunes 4 models (30 s)",
}
# a broken collector (or SKIP marks dropped wholesale) must not pass by running nothing
MIN_EXAMPLES = 150
# The shown outputs are those of the default model as `captum-ext finetune` makes it on this
# project's machine type (bf16 on an AVX512-BF16 CPU; two fresh fine-tunes give bit-identical
# weights). Another CPU trains another model (e.g. in fp32): there the examples must still run
# without an error, but the digits and rankings they print are not compared.
REFERENCE_MODEL_FINGERPRINT = "cc06b2fb1c61a43d"


class _AnyOutput(doctest.OutputChecker):
    """Accepts any printed output; an example that raises still fails (doctest counts it apart)."""

    def check_output(self, want: str, got: str, optionflags: int) -> bool:
        return True


def _skip_marked_docstrings() -> list[doctest.DocTest]:
    """Every docstring with a SKIP-marked example, SKIP stripped from all its examples."""
    finder = doctest.DocTestFinder()
    tests = []
    for name in package_modules():
        for test in finder.find(importlib.import_module(name)):
            if not any(ex.options.get(doctest.SKIP) for ex in test.examples):
                continue
            for ex in test.examples:
                ex.options.pop(doctest.SKIP, None)
            tests.append(test)
    return tests


DOCSTRINGS = {test.name: test for test in _skip_marked_docstrings()}
TO_RUN = sorted(set(DOCSTRINGS) - set(EXCLUDED))


def test_the_collector_finds_the_examples():
    assert set(EXCLUDED) <= set(DOCSTRINGS), "an excluded docstring lost its examples: update"
    n_examples = sum(len(DOCSTRINGS[name].examples) for name in TO_RUN)
    assert n_examples >= MIN_EXAMPLES, f"only {n_examples} examples collected"


@pytest.fixture(scope="module")
def output_checker(default_model_path):
    from captum_ext.train.finetune import checkpoint_fingerprint

    fingerprint = checkpoint_fingerprint(default_model_path)
    if fingerprint == REFERENCE_MODEL_FINGERPRINT:
        return doctest.OutputChecker()
    import warnings

    warnings.warn(
        f"the default model ({fingerprint}) is not the one the examples show "
        f"({REFERENCE_MODEL_FINGERPRINT}): the examples run, their outputs are not compared",
        stacklevel=1,
    )
    return _AnyOutput()


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    # shared by the docstrings (the same 500 tweets' features are extracted once), as a user's
    return tmp_path_factory.mktemp("cache")


@pytest.fixture
def sandbox(default_model_path, cache, tmp_path, monkeypatch):
    """A temporary cwd and caches, two torch threads, figures closed afterwards."""
    import matplotlib.pyplot as plt

    from captum_ext.influence import crossfit, features
    from captum_ext.internals import probes

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(features, "default_feature_cache_dir", lambda: cache / "features")
    monkeypatch.setattr(probes, "default_cache_dir", lambda: cache / "features")
    monkeypatch.setattr(crossfit, "default_crossfit_cache_dir", lambda: cache / "crossfit")
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield tmp_path
    torch.set_num_threads(before)
    plt.close("all")


@pytest.mark.parametrize("name", TO_RUN)
def test_docstring_runs_with_the_default_model(name, sandbox, output_checker):
    test = copy.copy(DOCSTRINGS[name])
    test.globs = dict(test.globs)  # a run clears its globals: keep the collected ones intact
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    runner = doctest.DocTestRunner(checker=output_checker, optionflags=flags)
    report = io.StringIO()
    result = runner.run(test, out=report.write)
    assert result.attempted == len(test.examples)
    assert result.failed == 0, f"{result.failed} of {result.attempted} failed:\n{report.getvalue()}"
