"""Integration tests run the real default model (the fine-tuned MiniLM-L6 in the user cache).

`make test` fine-tunes it first if it is missing (`captum-ext finetune --if-missing`). Run alone,
these tests fail with that instruction instead of being skipped.
"""

from __future__ import annotations

from pathlib import Path

import pytest


def pytest_collection_modifyitems(items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def default_model_path() -> Path:
    from captum_ext.adapters.loading import default_model_dir

    path = default_model_dir()
    if not (path / "model.safetensors").is_file():
        pytest.fail(
            f"no fine-tuned default model at {path}: run `make model` (or `captum-ext finetune`) "
            "first; `make test` does it for you."
        )
    return path


@pytest.fixture(scope="session")
def real_adapter(default_model_path):
    from captum_ext.adapters import TextClassifierAdapter

    return TextClassifierAdapter.from_pretrained(default_model_path)
