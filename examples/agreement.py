"""Do the methods agree? The agreement harness on the three example tweets or a sample.

Run ``make model`` once first, then::

    .venv/bin/python examples/agreement.py [--n 0] [--out out/examples/agreement]

``--n 0`` (default) compares the methods on the three example tweets; ``--n N`` on N seeded
Sentiment140 tweets. The run is resumable and writes its tables, figures and ``report.html``
into ``--out``. Mirrors docs/tutorials/agreement.md.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from captum_ext.adapters import TextClassifierAdapter
from captum_ext.data import EXAMPLE_TWEETS, default_data_path
from captum_ext.harness import compare
from captum_ext.viz import plot_agreement_heatmap

METHODS = ["ig", "occlusion", "lime", "attention-rollout", "saliency"]
BUDGETS = {"ig": {"n_steps": 16}, "lime": {"n_samples": 150}}


def main(out: Path, n: int) -> None:
    adapter = TextClassifierAdapter.from_pretrained()
    source = {"data": default_data_path(), "n": n} if n > 0 else {"texts": list(EXAMPLE_TWEETS)}
    summary = compare(
        **source,
        methods=METHODS,
        adapter=adapter,
        method_settings=BUDGETS,
        stability_seeds=(1,),
        out_dir=out,
        show_progress=False,
    )
    print(summary.matrix("kendall_tau").round(2).to_string())
    print(f"verdict: {summary.headline}")
    for sentence in summary.verdict["sentence"]:
        print(sentence)
    plot_agreement_heatmap(summary.matrix("kendall_tau"), metric="Kendall τ").save(
        out / "kendall_tau.png"
    )
    print(f"wrote {out} ({', '.join(sorted(summary.settings.get('files', {})))})")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("out/examples/agreement"))
    parser.add_argument("--n", type=int, default=0, help="Sentiment140 tweets (0: the examples)")
    args = parser.parse_args()
    main(args.out, args.n)
