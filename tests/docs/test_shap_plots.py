"""SHAP's own plots on our results render with colour in headless Chromium (issue 14).

``shap.plots.text`` of an explanation from the default model (HTML), and ``shap_bar`` /
``shap_waterfall`` (matplotlib figures as PNG) are put on one page; Chromium opens it and
reports the colours it actually paints: the text plot's word backgrounds (computed styles) and
the figures' pixels (read back through a canvas). SHAP releases up to 0.51.0 write
``rgba(np.float64(...))`` into the text plot's CSS on NumPy 2, which browsers drop: the words
are then painted without any colour, and this test fails.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path

import pytest
from site_browser import Browser, find_chromium

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SHOT = ROOT / "out" / "docs-screenshots" / "shap-plots.png"
TEXT = "just got home from dinner  best dinner i have had in a long time! =("

# how many words the text plot paints with a colour, and how many pixels of each figure are
# clearly red or blue (SHAP's red for pushes towards the class, blue for pushes away)
SCRIPT = """(async () => {
  const words = Array.from(document.querySelectorAll('#text div, #text span'))
    .map(e => getComputedStyle(e).backgroundColor)
    .filter(c => c && c !== 'rgba(0, 0, 0, 0)' && c !== 'transparent' && c !== 'rgb(255, 255, 255)');
  const figs = {};
  for (const img of document.querySelectorAll('img.fig')) {
    await img.decode();
    const c = document.createElement('canvas');
    c.width = img.naturalWidth; c.height = img.naturalHeight;
    const ctx = c.getContext('2d'); ctx.drawImage(img, 0, 0);
    const d = ctx.getImageData(0, 0, c.width, c.height).data;
    let red = 0, blue = 0;
    for (let i = 0; i < d.length; i += 4) {
      if (d[i] > 180 && d[i + 1] < 90 && d[i + 2] < 120) red++;
      if (d[i + 2] > 180 && d[i] < 90) blue++;
    }
    figs[img.id] = {red, blue};
  }
  return {coloured_words: words.length, figs};
})()"""


def _png(ax) -> str:
    buf = io.BytesIO()
    ax.figure.savefig(buf, format="png", dpi=80, bbox_inches="tight")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def test_shap_text_bar_and_waterfall_render_in_colour(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import shap

    from captum_ext.adapters import TextClassifierAdapter
    from captum_ext.methods import make_explainer
    from captum_ext.viz.shap_interop import shap_bar, shap_waterfall

    exe = find_chromium()
    if exe is None:
        pytest.fail("no chromium on PATH: `apt-get install chromium` (`make docs-test` does it).")
    adapter = TextClassifierAdapter.from_pretrained()
    wa = make_explainer("occlusion", adapter).explain(TEXT)
    text_html = shap.plots.text(wa.to_shap(), display=False)
    assert "np.float64(" not in text_html
    bar = _png(shap_bar(wa))
    plt.close("all")
    waterfall = _png(shap_waterfall(wa))
    plt.close("all")
    page = tmp_path / "shap.html"
    page.write_text(
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>shap plots</title></head><body>"
        f"<div id='text'>{text_html}</div>"
        f"<img class='fig' id='bar' src='data:image/png;base64,{bar}'>"
        f"<img class='fig' id='waterfall' src='data:image/png;base64,{waterfall}'>"
        "</body></html>",
        encoding="utf-8",
    )
    with Browser(exe) as browser:
        r = browser.visit(page.as_uri(), screenshot=SHOT, expressions={"paint": SCRIPT})
    assert r.exceptions == [], r.exceptions
    paint = r.values["paint"]
    assert paint["coloured_words"] >= 5, paint  # the words are painted red/blue, not plain
    for fig in ("bar", "waterfall"):
        assert paint["figs"][fig]["red"] + paint["figs"][fig]["blue"] > 200, (fig, paint)
