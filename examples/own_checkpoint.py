"""Bring your own checkpoint: explain with any local Hugging Face classifier directory.

    .venv/bin/python examples/own_checkpoint.py --model DIR [--text "..."]

Without ``--model`` it first saves a copy of the fine-tuned default model with renamed classes
(``sad``/``happy``) into ``--out``, as you would save your own fine-tuned BERT, and uses that.
Mirrors docs/tutorials/checkpoint.md.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from captum_ext.adapters import TextClassifierAdapter
from captum_ext.methods import make_explainer

TEXT = "Thanks so much!!! Really appreciate that...Look forward to more of your tweets"


def save_demo_checkpoint(out: Path) -> Path:
    """A checkpoint directory made the way a user makes theirs: ``save_pretrained``."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from captum_ext.adapters.loading import default_model_dir

    model = AutoModelForSequenceClassification.from_pretrained(default_model_dir())
    tokenizer = AutoTokenizer.from_pretrained(default_model_dir())
    model.config.id2label = {0: "sad", 1: "happy"}
    model.config.label2id = {"sad": 0, "happy": 1}
    path = out / "my-sentiment-bert"
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


def main(model_dir: Path | None, out: Path, text: str) -> None:
    if model_dir is None:
        model_dir = save_demo_checkpoint(out)
        print(f"saved a checkpoint directory: {sorted(p.name for p in model_dir.iterdir())}")
    adapter = TextClassifierAdapter.from_pretrained(model_dir, max_length=64, batch_size=32)
    print(adapter)
    for method in ("occlusion", "ig"):
        wa = make_explainer(method, adapter).explain(text)
        print(
            f"{method:10s} {wa.predicted_label} ({wa.probs.max():.3f}) top words: {wa.top_words(4)}"
        )
    print(f'command line: captum-ext explain "{text}" --model {model_dir} --method ig')


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=None, help="checkpoint directory")
    parser.add_argument("--out", type=Path, default=Path("out/examples/own_checkpoint"))
    parser.add_argument("--text", default=TEXT)
    args = parser.parse_args()
    main(args.model, args.out, args.text)
