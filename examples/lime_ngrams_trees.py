"""LIME with n-grams and a tree surrogate, and a submodular pick (SP-LIME) over tweets.

Run ``make model`` once first, then::

    .venv/bin/python examples/lime_ngrams_trees.py [--out out/examples/lime] [--sample-size 16]

Writes ``tree.png``/``.svg``. Mirrors docs/tutorials/lime.md.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from captum_ext import TextLime
from captum_ext.adapters import TextClassifierAdapter
from captum_ext.attr import SubmodularPick
from captum_ext.data import EXAMPLE_TWEETS, default_data_path, load_sentiment140
from captum_ext.viz import plot_tree_surrogate


def main(out: Path, sample_size: int) -> None:
    out.mkdir(parents=True, exist_ok=True)
    adapter = TextClassifierAdapter.from_pretrained()
    text = EXAMPLE_TWEETS[2]

    bigrams = TextLime(adapter, max_ngram=2, random_state=0).explain(text, n_samples=500)
    print(f"words + bigrams: weighted R² {bigrams.extras['score']:.3f}")
    print("strongest bigrams:", bigrams.extras["ngram_weights"][:3])

    tree_lime = TextLime(adapter, interpretable_model="tree", max_depth=3, random_state=0)
    fit, _ = tree_lime.explain_encoding(adapter.encode(text), n_samples=500)
    print(f"tree surrogate: weighted R² {fit.score:.3f}")
    print(fit.tree_text)
    fig = plot_tree_surrogate(
        fit.model,
        fit.feature_names,
        x=np.ones(len(fit.feature_names)),
        value_label=f"P({adapter.labels[fit.target]})",
    )
    fig.save(out / "tree.png")
    fig.save(out / "tree.svg")

    tweets = load_sentiment140(default_data_path()).sample(200, seed=1).texts
    sp = SubmodularPick(
        TextLime(adapter, random_state=0),
        tweets,
        sample_size=sample_size,
        num_exps_desired=3,
        num_features=6,
        n_samples=300,
        random_state=0,
        store=out / "sp.jsonl",  # rerun: explanations are read back, not recomputed
    )
    print(f"SP-LIME picked {len(sp.sp_explanations)} of {len(sp.explanations)} tweets:")
    for e in sp.sp_explanations:
        print(f"  [{adapter.labels[e.label]}] {e.text[:80]!r}  {e.top_words(3)}")
    print(f"wrote {out / 'tree.png'}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("out/examples/lime"))
    parser.add_argument("--sample-size", type=int, default=16, help="tweets SP-LIME explains")
    args = parser.parse_args()
    main(args.out, args.sample_size)
