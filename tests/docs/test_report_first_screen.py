"""The comparison report answers at a glance: a real run on the default model, opened in headless
Chromium at 1280×800, shows the headline, the ranked verdict table and the flagged texts (when
there are any) before any scrolling; the first screen is saved to
``out/docs-screenshots/report-first-screen.png``."""

from __future__ import annotations

from pathlib import Path

import pytest
from site_browser import Browser, find_chromium

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SHOT = ROOT / "out" / "docs-screenshots" / "report-first-screen.png"
METHODS = ["occlusion", "ig", "input-x-gradient", "saliency", "attention-rollout", "lime"]
BUDGETS = {"ig": {"n_steps": 16}, "lime": {"n_samples": 200}}


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    import torch

    from captum_ext.adapters import TextClassifierAdapter
    from captum_ext.data import default_data_path
    from captum_ext.harness import compare

    torch.set_num_threads(2)
    out = tmp_path_factory.mktemp("report")
    summary = compare(data=default_data_path(), n=12, methods=METHODS,
                      adapter=TextClassifierAdapter.from_pretrained(), method_settings=BUDGETS,
                      stability_seeds=(1,), stability_texts=4, sanity_texts=6, out_dir=out,
                      show_progress=False)  # fmt: skip
    return summary, out / "report.html"


def test_the_first_screen_shows_the_answer(report):
    summary, page = report
    exe = find_chromium()
    if exe is None:
        pytest.fail("no chromium on PATH: `apt-get install chromium` (`make docs-test` does it).")

    def bottom(selector: str) -> str:
        return f"(e => e ? e.getBoundingClientRect().bottom : null)(document.querySelector({selector!r}))"

    def top(selector: str) -> str:
        return f"(e => e ? e.getBoundingClientRect().top : null)(document.querySelector({selector!r}))"

    with Browser(exe, width=1280, height=800) as browser:
        r = browser.visit(
            page.as_uri(),
            first_screen=SHOT,
            expressions={
                "headline": bottom(".headline"),
                "table": bottom("section.verdict > table"),
                "rows": "document.querySelectorAll('section.verdict > table tbody tr').length",
                "flagged": top("section.verdict h3"),
                "headline_text": "document.querySelector('.headline').innerText",
            },
        )
    assert r.console_errors == [] and r.exceptions == []
    v = r.values
    assert v["headline_text"] == summary.judgement.headline
    assert v["rows"] == len(METHODS)
    assert v["headline"] is not None and v["headline"] <= 800, v
    assert v["table"] is not None and v["table"] <= 800, v  # the whole ranked table
    if len(summary.judgement.flagged):
        assert v["flagged"] is not None and v["flagged"] < 800, v
    assert SHOT.stat().st_size > 0
