"""Quickstart: explain one tweet with Integrated Gradients, LIME and SHAP, and plot the answers.

Run ``make model`` (or ``captum-ext finetune``) once first, then::

    .venv/bin/python examples/quickstart.py [--out out/examples/quickstart]

Writes ``compare.html`` (the three answers on the text) and ``heatmap.png``/``.svg``.
Mirrors docs/tutorials/quickstart.md.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from captum_ext.adapters import TextClassifierAdapter
from captum_ext.adapters.loading import default_model_dir
from captum_ext.data import EXAMPLE_TWEETS
from captum_ext.methods import make_explainer
from captum_ext.viz import compare_html, html_page, plot_word_heatmap


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    metrics = json.loads((default_model_dir() / "metrics.json").read_text())
    print(f"default model: held-out accuracy {metrics['test_accuracy']}")

    adapter = TextClassifierAdapter.from_pretrained()
    tweet = EXAMPLE_TWEETS[2]
    results = [
        make_explainer("ig", adapter, n_steps=50).explain(tweet),
        make_explainer("lime-official", adapter, n_samples=500).explain(tweet, random_state=0),
        make_explainer("shap-partition", adapter, max_evals=300).explain(tweet),
    ]
    print(f"prediction: {results[0].predicted_label} ({results[0].probs.max():.3f})")
    for wa in results:
        print(f"{wa.method:15s} top words: {wa.top_words(5)}")

    (out / "compare.html").write_text(
        html_page(compare_html(results), title="IG, LIME and SHAP"), encoding="utf-8"
    )
    fig = plot_word_heatmap(results)
    fig.save(out / "heatmap.png")
    fig.save(out / "heatmap.svg")
    print(f"wrote {out / 'compare.html'} and {out / 'heatmap.png'}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("out/examples/quickstart"))
    main(parser.parse_args().out)
