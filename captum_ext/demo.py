"""The demo: the three example tweets explained by every registered method."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path

from captum_ext.adapters import TextClassifierAdapter
from captum_ext.data.examples import EXAMPLE_TWEETS
from captum_ext.methods import list_methods, make_explainer
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
    """Explain ``texts`` with every registered method (or ``methods``), print the top words and
    write ``out_dir/index.html`` (escaped, methods side by side) and ``out_dir/results.jsonl``.

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
        ['index.html', 'results.jsonl']
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    names = list(methods) if methods is not None else [m.name for m in list_methods()]
    explainers = {name: make_explainer(name, adapter) for name in names}
    results: dict[str, list[WordAttribution]] = {}
    timings: dict[str, float] = dict.fromkeys(names, 0.0)
    with open(out / "results.jsonl", "w", encoding="utf-8") as fh:
        for text in texts:
            rows = []
            if echo:
                print(f"\n{text}")
            for name, explainer in explainers.items():
                t0 = time.perf_counter()
                wa = explainer.explain(text, random_state=random_state)
                timings[name] += time.perf_counter() - t0
                rows.append(wa)
                fh.write(json.dumps(wa.to_dict(), ensure_ascii=False) + "\n")
                if echo:
                    if wa is rows[0]:
                        probs = ", ".join(
                            f"{lab} {p:.3f}" for lab, p in zip(wa.labels, wa.probs, strict=True)
                        )
                        print(
                            f"  prediction: {wa.predicted_label} ({probs}); explaining {wa.target_label!r}"
                        )
                    words = ", ".join(
                        f"{wa.words[i]} {wa.scores[i]:+.3g}" for i in wa.ranking()[:top]
                    )
                    print(f"  {name:<18} {words}")
            results[text] = rows
    body = "<h1>captum-ext demo</h1>" + "".join(compare_html(rows) for rows in results.values())
    timing_rows = "".join(f"<li>{n}: {t:.1f} s</li>" for n, t in timings.items())
    body += f"<h2>Time per method (all texts)</h2><ul>{timing_rows}</ul>"
    (out / "index.html").write_text(html_page(body, title="captum-ext demo"), encoding="utf-8")
    if echo:
        print(f"\nwrote {out / 'index.html'} and {out / 'results.jsonl'}")
    return results
