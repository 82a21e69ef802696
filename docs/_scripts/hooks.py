"""MkDocs hooks: run the tutorials offline on the real default model, and give their code blocks
a place in the built site to save figures.

The tutorials are Markdown pages whose ``python exec="on"`` blocks markdown-exec runs while the
site is built (``make docs``). This hook

- makes the build offline and quiet (no model hub, two threads, matplotlib's Agg backend),
- refuses to build without the fine-tuned default model (``make model`` creates it),
- puts ``docs/_scripts`` on ``sys.path`` so hidden lines can ``import tutorial_output``, and the
  virtual environment's ``bin`` on ``PATH`` so ``console`` blocks find ``captum-ext``,
- tells :mod:`tutorial_output` where the page being rendered will be written, so figures land
  next to it in the site (``site/tutorials/figures/<page>-<name>.png``).
"""

from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent
log = logging.getLogger("mkdocs.hooks.captum_ext")
_t0: dict[str, float] = {}


def on_config(config: Any) -> Any:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("MPLBACKEND", "Agg")
    bin_dir = str(Path(sys.executable).parent)
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")
    if str(_HERE) not in sys.path:
        sys.path.insert(0, str(_HERE))

    import warnings

    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    import torch
    from transformers.utils import logging as hf_logging

    torch.set_num_threads(min(2, torch.get_num_threads()))
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()

    from captum_ext.adapters.loading import default_model_dir

    model_dir = default_model_dir()
    if not (model_dir / "model.safetensors").is_file():
        from mkdocs.exceptions import PluginError

        raise PluginError(
            f"the tutorials run on the fine-tuned default model, which is not at {model_dir}: "
            "run `make model` (or `captum-ext finetune`) first, or build with `make docs`."
        )

    import tutorial_output

    tutorial_output.configure(site_dir=config["site_dir"])
    config["nav"] = _existing_nav(config["nav"], Path(config["docs_dir"]))
    return config


def _existing_nav(nav: Any, docs_dir: Path) -> Any:
    """The nav without pages whose file is not in ``docs/`` (guides other modules will add)."""
    out = []
    for item in nav:
        if isinstance(item, dict):
            ((title, value),) = item.items()
            if isinstance(value, list):
                value = _existing_nav(value, docs_dir)
                if value:
                    out.append({title: value})
            elif _exists(value, docs_dir):
                out.append(item)
        elif _exists(item, docs_dir):
            out.append(item)
    return out


def _exists(page: str, docs_dir: Path) -> bool:
    if "://" in page or (docs_dir / page).is_file():
        return True
    log.info("nav: %s is not written yet; left out of the site", page)
    return False


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    import tutorial_output

    tutorial_output.start_page(page.file.dest_path)
    _t0[page.file.src_path] = time.perf_counter()
    return markdown


def on_page_content(html: str, page: Any, config: Any, files: Any) -> str:
    t0 = _t0.pop(page.file.src_path, None)
    if t0 is not None and page.file.src_path.startswith("tutorials/"):
        log.info("executed %s in %.1f s", page.file.src_path, time.perf_counter() - t0)
    return html
