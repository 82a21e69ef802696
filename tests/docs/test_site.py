"""The built documentation site, opened as a reader would open it.

``make docs`` builds ``site/`` (the tutorials run on the fine-tuned default model); this test
serves it on 127.0.0.1 (a free port, ``http.server`` in a thread), opens every tutorial page in
headless Chromium (Debian's ``chromium``; ``make docs-test`` installs it) and checks that

- no console error, uncaught exception or failed request happened, and nothing was fetched from
  outside this machine (the site is built offline: no fonts, no CDN);
- every figure loaded with a nonzero size, and the page holds the executed outputs (text,
  HTML fragments, figures) its code produced, with no traceback;
- every figure's smallest label is at least 10 px on screen, and no table is cut off (a table
  wider than the page sits in a box that scrolls);

and saves a full-page screenshot of each page to ``out/docs-screenshots/`` (git-ignored).
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import threading
from pathlib import Path

import pytest
from site_browser import Browser, find_chromium

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SITE = Path(os.environ.get("CAPTUM_EXT_DOCS_SITE", ROOT / "site"))  # the built site
SCREENSHOTS = ROOT / "out" / "docs-screenshots"

OUTPUT_SELECTORS = {
    "figures": "figure.tutorial-figure img",
    "html": "div.tutorial-output",
    "text": "div.language-text, div.language-json",
    "code": "div.language-python",
}

# page → (minimum executed outputs of each kind, phrases only an executed run prints)
TUTORIALS: dict[str, tuple[dict[str, int], tuple[str, ...]]] = {
    "tutorials/quickstart.html": (
        {"figures": 3, "html": 1, "text": 4},
        ("test_accuracy", "IG convergence delta", "shap-partition"),
    ),
    "tutorials/captum.html": (
        {"html": 2, "text": 6},
        ("convergence delta", "same word scores: True", "words with a non-zero weight"),
    ),
    "tutorials/lime.html": (
        {"figures": 2, "text": 5},
        ("strongest bigrams", "weighted R² of the tree", "explained 16 tweets"),
    ),
    "tutorials/training_tweets.html": (
        {"figures": 1, "text": 6},
        (
            "same as the model's: True",
            "held-out fidelity",
            "proponents of the prediction",
            "share of flipped tweets",
        ),
    ),
    "tutorials/agreement.html": (
        {"figures": 3, "html": 1, "text": 4},
        ("mean_seconds", "records.jsonl", "kendall_tau", "better_than_random"),
    ),
    "tutorials/checkpoint.html": (
        {"text": 4},
        ("labels=('sad', 'happy')", "ModelLoadError", '"label": "'),
    ),
}


def _nav_tutorials() -> list[str]:
    """Tutorial pages linked from the built site's navigation."""
    html = (SITE / "index.html").read_text(encoding="utf-8")
    pages = sorted(set(re.findall(r'href="(tutorials/[a-z_]+\.html)"', html)))
    return [p for p in pages if p != "tutorials/index.html"]


@pytest.fixture(scope="module")
def site_url():
    if not (SITE / "tutorials" / "quickstart.html").is_file():
        pytest.fail(f"no built site at {SITE}: run `make docs` first (`make docs-test` does both).")
    handler = functools.partial(_QuietHandler, directory=str(SITE))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args) -> None:  # noqa: A002
        pass


@pytest.fixture(scope="module")
def browser():
    exe = find_chromium()
    if exe is None:
        pytest.fail("no chromium on PATH: `apt-get install chromium` (`make docs-test` does it).")
    with Browser(exe) as b:
        yield b


def test_every_tutorial_in_the_nav_is_checked():
    assert set(_nav_tutorials()) == set(TUTORIALS), (
        "the site's navigation and this test's list of tutorials differ: add the new page's "
        "expected outputs to TUTORIALS"
    )


@pytest.mark.parametrize("page", sorted(TUTORIALS))
def test_tutorial_renders(page, site_url, browser):
    minimum, phrases = TUTORIALS[page]
    shot = SCREENSHOTS / (Path(page).stem + ".png")
    report = browser.visit(f"{site_url}/{page}", count_selectors=OUTPUT_SELECTORS, screenshot=shot)

    assert report.title.strip(), "page has no title"
    assert report.console_errors == [], f"console errors on {page}: {report.console_errors}"
    assert report.exceptions == [], f"uncaught exceptions on {page}: {report.exceptions}"
    assert report.failed_requests == [], f"failed requests on {page}: {report.failed_requests}"
    outside = [u for u in report.requested_urls if not u.startswith((site_url, "data:", "blob:"))]
    assert outside == [], f"{page} fetched from outside the machine: {outside}"

    for img in report.images:
        assert img["complete"] and img["width"] > 0 and img["height"] > 0, f"broken image {img}"
    for fig in report.figure_fonts:  # labels readable as shown: >= 10 px on screen
        assert fig["px"] >= 10.0, f"{page}: {fig['src']} labels are {fig['px']:.1f} px on screen"
    assert report.clipped_tables == [], f"{page}: tables cut off: {report.clipped_tables}"
    for kind, n in minimum.items():
        assert report.counts[kind] >= n, (
            f"{page}: {report.counts[kind]} {kind} outputs, expected at least {n}"
        )
    assert report.counts["code"] > 0
    if minimum.get("figures"):
        assert len(report.images) >= minimum["figures"]
    assert "Traceback (most recent call last)" not in report.text, f"a code block failed on {page}"
    for phrase in phrases:
        assert phrase in report.text, f"{page} lacks the executed output {phrase!r}"
    assert shot.stat().st_size > 10_000, "screenshot is (almost) empty"


def test_reference_pages_render(site_url, browser):
    report = browser.visit(
        f"{site_url}/reference/adapters.html",
        count_selectors={"objects": ".doc-object"},
        screenshot=SCREENSHOTS / "reference-adapters.png",
    )
    assert report.console_errors == [] and report.exceptions == []
    assert report.counts["objects"] >= 5, "API reference has (almost) no documented objects"
    assert "predict_proba" in report.text and "from_pretrained" in report.text


_ASSET = re.compile(
    r"<(?:script|img|link|iframe|source)\b[^>]*?\b(?:src|href)=[\"']((?:https?:)?//[^\"']+)",
    re.IGNORECASE,
)


def test_no_page_loads_assets_from_outside():
    """Every page of the site, not only the tutorials: no script, style, font or image from a
    host (links to other sites in the text are fine)."""
    pages = sorted(SITE.rglob("*.html"))
    assert pages, f"no built site at {SITE}: run `make docs` first"
    remote = {
        str(p.relative_to(SITE)): hits
        for p in pages
        if (hits := _ASSET.findall(p.read_text(encoding="utf-8")))
    }
    assert remote == {}
    css = "\n".join(p.read_text(encoding="utf-8") for p in SITE.rglob("*.css"))
    assert not re.search(r"@import\s+url\(\s*[\"']?https?:", css)
    assert "fonts.googleapis" not in css
