"""Which training tweets? Representer points, nearest neighbours and a mislabeled-tweet audit.

Run ``make model`` once first, then::

    .venv/bin/python examples/training_tweets.py [--n-train 1000] [--out out/examples/influence]

Uses a sample of the model's own training set (rebuilt from its metrics.json), flips 2% of the
labels and reports how many of them the audit ranks in its top 5%. Writes ``representer.png``.
Mirrors docs/tutorials/training_tweets.md.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from captum_ext.adapters import TextClassifierAdapter
from captum_ext.adapters.loading import default_model_dir
from captum_ext.data import EXAMPLE_TWEETS, TextDataset, load_sentiment140, split_dataset
from captum_ext.influence import (
    AUDIT_METHODS,
    FeatureSimilarityKNN,
    MislabelAudit,
    RepresenterPoints,
    precision_at,
)
from captum_ext.viz import plot_representer


def model_training_set() -> TextDataset:
    """The default model's training tweets, rebuilt from what ``captum-ext finetune`` recorded."""
    metrics = json.loads((default_model_dir() / "metrics.json").read_text())
    hp, seed = metrics["hyperparameters"], metrics["seed"]
    data = load_sentiment140(metrics["data"]["source"])
    splits = split_dataset(data, test_size=hp["test_size"], val_size=hp["val_size"], seed=seed)
    train = splits.train.sample(hp["n_train"], seed=seed)
    if train.fingerprint != metrics["data"]["train_fingerprint"]:
        raise SystemExit("the data changed since the model was fine-tuned")
    return train


def main(out: Path, n_train: int) -> None:
    out.mkdir(parents=True, exist_ok=True)
    adapter = TextClassifierAdapter.from_pretrained()
    train = model_training_set().sample(n_train, seed=0)
    tweet = EXAMPLE_TWEETS[2]

    rp = RepresenterPoints(adapter, train).fit()
    for row in rp.explain([tweet], k=3).to_frame().itertuples():
        print(f"proponent {row.score:+.3f} [{row.train_label}] {row.train_text[:70]}")
    values = rp.influence([tweet])[0].numpy()
    names = [train.label_names[y] for y in train.labels]
    plot_representer(values, train.texts, labels=names, k=5).save(out / "representer.png")

    knn = FeatureSimilarityKNN(adapter, train).fit()
    res = knn.explain([tweet], k=5)
    print(f"kNN: {res.extras['agreement_rate'][0]:.0%} of the 5 nearest training tweets agree")

    rng = np.random.default_rng(0)
    flipped = rng.choice(len(train), size=max(1, len(train) // 50), replace=False)
    labels = train.labels.copy()
    labels[flipped] = 1 - labels[flipped]
    is_flipped = np.zeros(len(train), dtype=bool)
    is_flipped[flipped] = True
    audit = MislabelAudit(adapter, TextDataset(train.texts, labels)).fit()
    for method in AUDIT_METHODS:
        share = precision_at(audit.scores_[method], is_flipped, 0.05)
        print(f"audit {method:14s} flipped tweets in its top 5%: {share:.0%} (random 2%)")
    print(f"wrote {out / 'representer.png'}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("out/examples/influence"))
    parser.add_argument("--n-train", type=int, default=1000, help="training tweets sampled")
    args = parser.parse_args()
    main(args.out, args.n_train)
