"""The wheel ships the model wrappers as ``captum_ext.adapters`` and no top-level ``adapters``.

``adapters`` is the import name of AdapterHub's widely used PyPI package: a wheel that installed a
top-level ``adapters`` module would break it (or be broken by it) in the same environment.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
         "-w", str(out), str(ROOT)],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    (whl,) = out.glob("captum_ext-*.whl")
    return whl


def test_wheel_has_no_top_level_adapters(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/", 1)[0] for n in names}
    assert "adapters" not in top
    assert not any(n.startswith("adapters") for n in top)
    assert "captum_ext/adapters/hf.py" in names
    assert "captum_ext/adapters/alignment.py" in names
    assert "captum_ext/adapters/loading.py" in names
    assert "captum_ext/data/human_labels.csv" in names  # the hand-labelled test set
    top_level = [n for n in names if n.endswith("top_level.txt")]
    for n in top_level:
        assert zipfile.ZipFile(wheel).read(n).decode().split() == ["captum_ext"]


def test_import_path() -> None:
    from captum_ext.adapters import TextClassifierAdapter
    from captum_ext.adapters.hf import TextClassifierAdapter as Same

    assert TextClassifierAdapter is Same
