"""The demo: the three example tweets explained by every registered method."""

from __future__ import annotations

import html
import json
import shutil
from collections.abc import Sequence
from pathlib import Path

from captum_ext.adapters import TextClassifierAdapter
from captum_ext.data.examples import EXAMPLE_TWEETS
from captum_ext.methods import list_methods
from captum_ext.result import WordAttribution
from captum_ext.viz.html import compare_html, html_page

__all__ = ["run_demo"]


def run_demo(
    adapter: TextClassifierAdapter,
    out_dir: str | Path,
    *,
    texts: Sequence[str] = EXAMPLE_TWEETS,
    methods: Sequence[str] | None = None,
    random_state: int = 0,
    top: int = 5,
    echo: bool = True,
) -> dict[str, list[WordAttribution]]:
    """Explain ``texts`` with every registered method (or ``methods``), print the top words, end
    with the verdict (which methods to believe on this model), and write ``out_dir/index.html``
    (escaped, methods side by side, the verdict), ``out_dir/results.jsonl`` and the comparison
    run with its full report in ``out_dir/compare/``.

    The methods run through the harness (:func:`captum_ext.harness.compare`), so the verdict
    costs only its metrics: the row metrics on every text, and the random-logit, robustness and
    randomisation checks (head and encoder layers re-initialised) on every text too. With three
    texts the verdict says it is indicative only.

    Returns:
        ``{text: [WordAttribution per method]}``.

    Examples::

        >>> from pathlib import Path
        >>> from captum_ext.adapters import TextClassifierAdapter
        >>> from captum_ext.demo import run_demo
        >>> adapter = TextClassifierAdapter.from_pretrained()  # doctest: +SKIP
        >>> results = run_demo(adapter, "out/demo", texts=["not bad at all"],
        ...                    methods=["ig", "occlusion"], echo=False)  # doctest: +SKIP
        >>> [wa.method for wa in results["not bad at all"]]  # doctest: +SKIP
        ['ig', 'occlusion']
        >>> sorted(p.name for p in Path("out/demo").iterdir())  # doctest: +SKIP
        ['compare', 'index.html', 'results.jsonl']
    """
    from captum_ext.harness import compare
    from captum_ext.harness.report import verdict_display

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    names = list(methods) if methods is not None else [m.name for m in list_methods()]
    run_dir = out / "compare"
    shutil.rmtree(run_dir, ignore_errors=True)  # a fresh run: other seeds or methods than last time
    texts = list(texts)
    summary = compare(
        texts,
        methods=names,
        adapter=adapter,
        out_dir=run_dir,
        random_state=random_state,
        stability_seeds=(),
        sanity_texts=len(texts),
        randomisation_levels=("all",),
        show_progress=echo,
    )
    ids = list(summary.results)
    results: dict[str, list[WordAttribution]] = {}
    with open(out / "results.jsonl", "w", encoding="utf-8") as fh:
        for tid, text in zip(ids, texts, strict=False):
            rows = [summary.results[tid][n] for n in names if n in summary.results[tid]]
            results[text] = rows
            for wa in rows:
                fh.write(json.dumps(wa.to_dict(), ensure_ascii=False) + "\n")
            if echo and rows:
                wa = rows[0]
                probs = ", ".join(
                    f"{lab} {p:.3f}" for lab, p in zip(wa.labels, wa.probs, strict=True)
                )
                print(f"\n{text}")
                print(f"  prediction: {wa.predicted_label} ({probs}); explaining {wa.target_label!r}")
                for wa in rows:
                    words = ", ".join(
                        f"{wa.words[i]} {wa.scores[i]:+.3g}" for i in wa.ranking()[:top]
                    )
                    print(f"  {wa.method:<18} {words}")
    body = "<h1>captum-ext demo</h1>" + "".join(compare_html(rows) for rows in results.values())
    body += (
        "<h2>Which explanation to believe</h2>"
        f"<p><b>{html.escape(summary.headline)}</b></p>"
        + verdict_display(summary).to_html(index=False, escape=True, na_rep="",
                                           float_format=lambda v: f"{v:.2f}", border=0)
        + '<p>The whole comparison (every metric, the texts side by side): '
        '<a href="compare/report.html">compare/report.html</a>.</p>'
    )  # fmt: skip
    (out / "index.html").write_text(html_page(body, title="captum-ext demo"), encoding="utf-8")
    if echo:
        print(f"\nverdict: {summary.headline}")
        for _, row in summary.verdict.iterrows():
            why = f" ({row['reasons']})" if row["reasons"] else ""
            print(f"  {row['rank']:>2}. {row['method']:<18} {row['verdict']}{why}")
        print(f"\nwrote {out / 'index.html'}, {out / 'results.jsonl'} and {run_dir / 'report.html'}")
    return results
