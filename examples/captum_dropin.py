"""Drop-in Captum: LayerIntegratedGradients on the adapter, and TextLime where captum.attr.Lime was.

Run ``make model`` once first, then::

    .venv/bin/python examples/captum_dropin.py [--out out/examples/captum_dropin]

Writes ``visualize_text.html`` (Captum's table, escaped). Mirrors docs/tutorials/captum.md.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from captum.attr import LayerIntegratedGradients

from captum_ext import TextLime
from captum_ext.adapters import TextClassifierAdapter
from captum_ext.aggregation import aggregate_to_words
from captum_ext.data import EXAMPLE_TWEETS
from captum_ext.methods import make_explainer
from captum_ext.viz import html_page, to_visualization_record, visualize_text


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    adapter = TextClassifierAdapter.from_pretrained()
    text = EXAMPLE_TWEETS[1]
    ids, mask = adapter.captum_inputs(text)
    target = int(adapter.predict_proba([text])[0].argmax())

    # your Captum code, unchanged: the adapter supplies forward function, layer and baselines
    lig = LayerIntegratedGradients(adapter.forward_func("probs"), adapter.embedding_layer)
    attributions, delta = lig.attribute(
        ids,
        baselines=adapter.baselines(ids),
        additional_forward_args=(mask,),
        target=target,
        n_steps=50,
        return_convergence_delta=True,
    )
    enc = adapter.encode(text)
    token_scores = attributions.sum(dim=-1)[0].detach().numpy()
    word_scores = aggregate_to_words(token_scores, enc.token_to_word, len(enc.words))
    top = sorted(zip(enc.words, word_scores, strict=True), key=lambda p: -abs(p[1]))[:5]
    print(
        f"explained class {adapter.labels[target]}, convergence delta {float(delta.abs().max()):.5f}"
    )
    print("LayerIntegratedGradients top words:", [w for w, _ in top])

    # TextLime where captum.attr.Lime was: the same constructor and attribute() arguments
    lime = TextLime(adapter.forward_func("probs"), random_state=0)
    attr = lime.attribute(
        ids,
        baselines=adapter.baselines(ids),
        target=target,
        additional_forward_args=(mask,),
        feature_mask=adapter.word_feature_mask(ids),  # special tokens in their own group
        n_samples=500,
        perturbations_per_eval=64,
    )
    fit = lime.last_results_[0]
    print(f"TextLime attributions {tuple(attr.shape)}, weighted R² {fit.score:.3f}")
    print("TextLime top features:", [name for name, _ in fit.ranked_features()[:5]])

    wa = make_explainer("ig", adapter, n_steps=50).explain(text, target=target)
    record = to_visualization_record(wa, true_label="positive")
    (out / "visualize_text.html").write_text(
        html_page(visualize_text([record]), title="Captum visualize_text"), encoding="utf-8"
    )
    print(f"wrote {out / 'visualize_text.html'}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("out/examples/captum_dropin"))
    main(parser.parse_args().out)
