"""Write a comparison run's report: summary JSON, CSV tables, figures and one self-contained HTML page.

Files written into the run directory:

* ``summary.json``: the verdict first (headline, ranked methods with tiers and reasons, flagged
  texts, notes, mean ranks and the critical difference), then settings and budgets, the masking
  operator, the metrics (their definitions and the method × metric means), the mean agreement of
  every pair and stability. No timings: a rerun with the same seed writes it byte for byte again;
* ``timing.json`` and ``timing.csv``: seconds per method, and the verdict's timing remark;
* ``verdict.csv``, ``verdict.md``, ``metrics.csv`` (method × metric means),
  ``metrics_per_text.csv`` (every metric per text and method), ``agreement.csv`` (per text and
  pair), ``agreement_summary.csv``, ``stability.csv``;
* ``critical_difference.png``: mean faithfulness ranks with Nemenyi's critical difference;
* ``agreement_<metric>.png``: method × method heatmaps of Kendall's τ, Spearman's ρ, feature
  agreement@k and rank-biased overlap (``agreement_matrices.csv`` holds the matrices of all nine
  agreement metrics);
* ``deletion_curves.png``: mean deletion curve of every method and of the random baseline;
* ``report.html``: one page (figures embedded as base64 PNG, no external resource, no script)
  that opens with the headline, the ranked table and the flagged texts, then the detail; per
  text, the words of every method side by side, coloured by score
  (:func:`captum_ext.viz.html.compare_html`). All text from the data is HTML-escaped.
"""

from __future__ import annotations

import base64
import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from captum_ext.harness.store import MetricsRecord, Record, as_records
from captum_ext.harness.summary import AGREEMENT_METRICS, Summary
from captum_ext.viz.html import escape_html as _esc

__all__ = ["HEATMAP_METRICS", "metrics_display", "verdict_display", "write_report"]

#: Metrics drawn as heatmaps (PNG files, embedded in the HTML page); the matrices of every metric
#: are in ``agreement_matrices.csv``.
HEATMAP_METRICS: tuple[str, ...] = ("kendall_tau", "spearman", "feature_agreement", "rbo")

_LABELS = {
    "kendall_tau": "Kendall τ-b",
    "spearman": "Spearman ρ",
    "feature_agreement": "feature agreement@k",
    "rank_agreement": "rank agreement@k",
    "sign_agreement": "sign agreement@k",
    "signed_rank_agreement": "signed rank agreement@k",
    "pairwise_rank_agreement": "pairwise rank agreement",
    "rank_correlation": "rank correlation (top-k ∪)",
    "rbo": "rank-biased overlap (p=0.9)",
}

_CORRELATIONS = {"kendall_tau", "spearman", "rank_correlation"}


def _clean(value: Any) -> Any:
    """JSON-ready: numpy to Python, nan/inf to None."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, np.ndarray):
        return _clean(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    return _clean(df.to_dict(orient="records"))


def _random_pair_means(summary: Summary) -> dict[str, float]:
    sel = summary.agreement_summary
    sel = sel[(sel["method_a"] == "random") & (sel["method_b"] == "random")]
    return {r["metric"]: float(r["mean"]) for _, r in sel.iterrows()}


def _heatmap_png(matrix: pd.DataFrame, metric: str, k: int, random_value: float | None) -> bytes:
    from captum_ext.viz.plots import plot_agreement_heatmap

    label = _LABELS.get(metric, metric).replace("@k", f"@{k}")
    if random_value is not None and np.isfinite(random_value):
        label += f" (random pair: {random_value:.2f})"
    signed = metric in _CORRELATIONS
    fig = plot_agreement_heatmap(matrix, metric=label, vmin=-1.0 if signed else 0.0, vmax=1.0)
    return _png(fig)


def _deletion_png(records: list[Record], methods: list[str]) -> bytes | None:
    """Mean deletion curve per method (and the random baseline) on a grid of removed fractions."""
    from captum_ext.viz.plots import plot_deletion_curves

    grid = np.linspace(0, 1, 11)
    curves: dict[str, list[np.ndarray]] = {}
    for r in records:
        if not isinstance(r, MetricsRecord) or "deletion_curve" not in r.details:
            continue
        m = r.details
        x = np.asarray(m["deletion_ks"], dtype=float) / max(1, r.n_words)
        y = np.asarray(m["deletion_curve"], dtype=float)
        if x.size >= 2:
            curves.setdefault(r.method, []).append(np.interp(grid, x, y))
    # means only: with a dozen methods, error bands hide each other
    ordered = {m: np.mean(curves[m], axis=0) for m in ["random", *methods] if m in curves}
    if not ordered:
        return None
    fig = plot_deletion_curves(
        grid,
        ordered,
        ylabel="probability of the explained class",
        title="Deletion curves, mean over texts (lower area = more faithful)",
    )
    return _png(fig)


def _png(fig: Any) -> bytes:
    """PNG bytes of a :class:`captum_ext.viz.plots.PlotFigure`."""
    data: bytes = fig.to_bytes("png", dpi=80)
    return data


def _markdown_table(df: pd.DataFrame, floatfmt: str = ".3f") -> str:
    def cell(v: Any) -> str:
        if isinstance(v, float):
            return "" if not math.isfinite(v) else format(v, floatfmt)
        return str(v).replace("|", "\\|")

    head = "| " + " | ".join(map(str, df.columns)) + " |"
    sep = "|" + "|".join("---" for _ in df.columns) + "|"
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join([head, sep, *body]) + "\n"


def verdict_display(summary: Summary) -> pd.DataFrame:
    """The ranked verdict as people read it: one row per method, believed methods first.

    Examples::

        >>> verdict_display(Summary([], *[pd.DataFrame()] * 8)).empty
        True
    """
    v = summary.verdict
    if v.empty:
        return pd.DataFrame()
    secs = {}
    if not summary.timing.empty:
        secs = dict(zip(summary.timing["method"], summary.timing["median_seconds"], strict=True))
    cols = {
        "rank": "#",
        "method": "method",
        "verdict": "verdict",
        "tier": "tier",
        "mean_rank": "mean faithfulness rank ↓",
        "better_than_random": "better than random",
        "randomisation": "|ρ| randomised model, above chance ↓",
        "random_logit": "ρ other class ↓",
        "robustness": "top-k kept under edits ↑",
        "stability": "seed stability ↑",
        "reasons": "why not",
    }
    out = v[[c for c in cols if c in v.columns]].rename(columns=cols)
    out.insert(len(out.columns) - 1, "seconds/text", [secs.get(m, np.nan) for m in v["method"]])
    return out


def metrics_display(summary: Summary) -> pd.DataFrame:
    """Method × metric means, ``random`` first, with each metric's label (its direction)."""
    from captum_ext.metrics.protocol import list_metrics

    table = summary.metric_table
    if table.empty:
        return pd.DataFrame()
    labels = {m.name: m.label for m in list_metrics()}
    return table.rename(columns={c: labels.get(c, c) for c in table.columns})


def _cd_png(summary: Summary) -> bytes | None:
    """Critical-difference diagram (Demšar 2006): mean ranks on an axis, methods within CD joined."""
    from captum_ext.viz.plots import PlotFigure

    j = summary.judgement
    if j is None or not j.ranks.get("mean_rank"):
        return None
    ranks = {m: r for m, r in j.ranks["mean_rank"].items() if r is not None}
    if len(ranks) < 2:
        return None
    cd = j.ranks.get("cd")
    order = sorted(ranks, key=lambda m: (ranks[m], m))
    k = len(order)
    fig = PlotFigure(figsize=(8, 0.9 + 0.28 * k))
    ax = fig.add_subplot()
    ax.set_xlim(0.5, k + 0.5)
    ax.set_ylim(k + 1, -1.6)
    ax.invert_xaxis()
    ax.axhline(0, color="black", lw=1)
    tier = dict(zip(summary.verdict["method"], summary.verdict["tier"], strict=True))
    verdict = dict(zip(summary.verdict["method"], summary.verdict["verdict"], strict=True))
    for i, m in enumerate(order):
        x = ranks[m]
        colour = (
            "#b2182b"
            if verdict.get(m) == "do not use"
            else ("#1a7f37" if tier.get(m) == 1 else "#555555")
        )
        ax.plot([x, x], [0, i + 1], color=colour, lw=1)
        ax.text(
            x,
            i + 1,
            f"  {m} ({x:.2f}, tier {tier.get(m, '?')})",
            va="center",
            ha="right" if x <= (k + 1) / 2 else "left",
            fontsize=10,
            color=colour,
        )
    if cd is not None and np.isfinite(cd):
        ax.plot([1, 1 + cd], [-0.45, -0.45], color="black", lw=2)
        ax.text(1 + cd / 2, -0.6, f"CD = {cd:.2f}", ha="center", va="bottom", fontsize=10)
    ax.set_yticks([])
    for side in ("left", "right", "bottom"):
        ax.spines[side].set_visible(False)
    ax.xaxis.set_ticks_position("top")
    ax.set_xlabel("mean faithfulness rank (1 = best)", fontsize=10)
    ax.xaxis.set_label_position("top")
    return _png(fig)


def _html_table(df: pd.DataFrame, floatfmt: str = "{:.3f}") -> str:
    # DataFrame.to_html escapes cell text by default (escape=True)
    return df.to_html(
        index=False,
        escape=True,
        na_rep="",
        float_format=lambda v: floatfmt.format(v),
        border=0,
        classes="t",
    )


def _budgets(summary: Summary) -> pd.DataFrame:
    rows = []
    for m in summary.methods:
        settings: dict[str, Any] = {}
        signed = None
        for per in summary.results.values():
            if m in per:
                settings = dict(per[m].settings)
                signed = per[m].signed
                break
        settings.pop("random_state", None)
        rows.append(
            {
                "method": m,
                "signed": {True: "yes", False: "magnitude only", None: ""}[signed],
                "settings (budgets)": ", ".join(f"{k}={v}" for k, v in settings.items()),
            }
        )
    return pd.DataFrame(rows)


def _img(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img alt="{_esc(alt)}" src="data:image/png;base64,{data}" style="max-width:100%;">'


_CSS = (
    "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;max-width:72em;"
    "margin:1em auto;padding:0 1em;color:#222}table.t{border-collapse:collapse;font-size:0.85em}"
    "table.t td,table.t th{padding:2px 8px;border-bottom:1px solid #ddd;text-align:right}"
    "table.t td:first-child,table.t th:first-child{text-align:left}h2{margin-top:1.6em}"
    ".fig{display:inline-block;vertical-align:top;margin:4px;width:48%}.fig img{width:100%}"
    ".note{color:#555;font-size:0.9em}.headline{font-size:1.25em;font-weight:600;"
    "background:#f3f7f3;border-left:4px solid #1a7f37;padding:0.5em 0.8em}"
    ".cost{color:#444}.flag{margin:0.4em 0}.verdict table.t{font-size:0.8em}"
    ".verdict table.t td:nth-child(-n+3),.verdict table.t th:nth-child(-n+3){text-align:left}"
)


def write_report(
    summary: Summary,
    out_dir: str | os.PathLike[str],
    *,
    records: list[Record] | list[dict[str, Any]] | None = None,
    texts: dict[str, str] | None = None,
    html_texts: int = 100,
    flagged_texts: int = 5,
    title: str = "captum-ext method comparison",
) -> dict[str, Path]:
    """Write the report files of a run into ``out_dir``.

    Args:
        summary (Summary): the run's tables (:func:`captum_ext.harness.summary.summarize`).
        out_dir (str or Path): where to write.
        records (list of Record or dict, optional): the run's records (for the deletion
            curves).
            Default: None (no deletion-curve figure)
        texts (dict, optional): ``{text_id: text}``, to show texts no method could explain.
            Default: None
        html_texts (int, optional): how many texts the HTML page shows word by word (all are in
            the JSONL and CSV files). Default: 100
        flagged_texts (int, optional): how many flagged texts the verdict section shows.
            Default: 5
        title (str, optional): page title. Default: "captum-ext method comparison"

    Returns:
        dict: name → path of every file written (``"html"``, ``"summary"``, ...).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    settings = summary.settings
    k = int(settings.get("k", 5))
    rand = _random_pair_means(summary)

    def save_csv(name: str, df: pd.DataFrame) -> None:
        paths[name] = out / f"{name}.csv"
        df.to_csv(paths[name], index=False)

    save_csv("verdict", summary.verdict)
    save_csv("metrics", summary.metric_table)
    save_csv("metrics_per_text", summary.metrics)
    save_csv("agreement", summary.agreement)
    save_csv("agreement_summary", summary.agreement_summary)
    save_csv("stability", summary.stability)
    save_csv("timing", summary.timing)
    if not summary.plausibility.empty:
        save_csv("plausibility", summary.plausibility)
    paths["verdict_md"] = out / "verdict.md"
    paths["verdict_md"].write_text(
        (summary.judgement.headline + "\n\n" if summary.judgement else "")
        + _markdown_table(verdict_display(summary)),
        encoding="utf-8",
    )
    cd_png = _cd_png(summary)
    if cd_png is not None:
        paths["critical_difference"] = out / "critical_difference.png"
        paths["critical_difference"].write_bytes(cd_png)

    heatmaps: dict[str, bytes] = {}
    if len(summary.methods) >= 2 and not summary.agreement_summary.empty:
        matrices = []
        for metric in AGREEMENT_METRICS:
            matrix = summary.matrix(metric)
            matrices.append(matrix.rename_axis("method").reset_index().assign(metric=metric))
            if metric in HEATMAP_METRICS:
                png = _heatmap_png(matrix, metric, k, rand.get(metric))
                paths[f"agreement_{metric}"] = out / f"agreement_{metric}.png"
                paths[f"agreement_{metric}"].write_bytes(png)
                heatmaps[metric] = png
        save_csv("agreement_matrices", pd.concat(matrices, ignore_index=True))
    deletion_png = _deletion_png(as_records(records), summary.methods) if records else None
    if deletion_png is not None:
        paths["deletion_curves"] = out / "deletion_curves.png"
        paths["deletion_curves"].write_bytes(deletion_png)

    mean_agreement = (
        summary.agreement_summary.pivot_table(
            index=["method_a", "method_b"], columns="metric", values="mean"
        ).reset_index()
        if not summary.agreement_summary.empty
        else pd.DataFrame()
    )
    from captum_ext.metrics.protocol import list_metrics

    computed = set(summary.metrics["metric"]) if not summary.metrics.empty else set()
    errors = summary.attributions[summary.attributions["error"].notna()]
    timing_json = {
        "cost_note": summary.judgement.cost_note if summary.judgement else "",
        "timing": _records(summary.timing),
    }
    paths["timing_json"] = out / "timing.json"
    paths["timing_json"].write_text(
        json.dumps(_clean(timing_json), ensure_ascii=False, indent=1), encoding="utf-8"
    )
    summary_json = {
        "title": title,
        "verdict": _clean(summary.judgement.to_dict()) if summary.judgement else None,
        "settings": settings,
        "methods": summary.methods,
        "n_texts": len(summary.results),
        "metrics": [m.to_dict() for m in list_metrics() if m.name in computed],
        "metric_means": _records(summary.metric_table.drop(columns=["seconds"], errors="ignore")),
        "agreement_mean": _records(mean_agreement),
        "agreement_random_pair": rand,
        "stability": _records(summary.stability),
        "plausibility": _records(summary.plausibility),
        "budgets": _records(_budgets(summary)),
        "errors": _records(errors[["text_id", "method", "seed", "error"]]),
        "files": {name: p.name for name, p in sorted(paths.items())},
    }
    paths["summary"] = out / "summary.json"
    paths["summary"].write_text(
        json.dumps(_clean(summary_json), ensure_ascii=False, indent=1), encoding="utf-8"
    )

    paths["html"] = out / "report.html"
    paths["html"].write_text(
        _html_page(
            summary,
            heatmaps,
            deletion_png,
            cd_png,
            rand,
            texts or {},
            html_texts,
            title,
            flagged_texts,
        ),
        encoding="utf-8",
    )
    return paths


def _html_page(
    summary: Summary,
    heatmaps: dict[str, bytes],
    deletion_png: bytes | None,
    cd_png: bytes | None,
    rand: dict[str, float],
    texts: dict[str, str],
    html_texts: int,
    title: str,
    flagged_texts: int = 5,
) -> str:
    from captum_ext.viz.html import compare_html

    s = summary.settings
    k = int(s.get("k", 5))
    parts = [f"<h1>{_esc(title)}</h1>"]
    n_texts = len(summary.results)
    parts.append(
        f"<p>{n_texts} texts × {len(summary.methods)} methods on model "
        f"<code>{_esc(s.get('model', ''))}</code>. Target class of every text: "
        f"{_esc(s.get('target_rule', 'the predicted class'))}.</p>"
    )

    # the answer first: headline, ranked table, flagged texts
    j = summary.judgement
    parts.append('<section class="verdict"><h2>Which explanation to believe</h2>')
    if j is None or summary.verdict.empty:
        parts.append("<p>No method has results: nothing to judge.</p>")
    else:
        parts.append(f'<p class="headline">{_esc(j.headline)}</p>')
        if j.cost_note:
            parts.append(f'<p class="cost">{_esc(j.cost_note)}</p>')
        parts.append(_html_table(verdict_display(summary), "{:.2f}"))
        if len(j.flagged):
            believed = summary.verdict[summary.verdict["verdict"] == "believe"]["method"].tolist()
            shown = j.flagged.head(flagged_texts)
            parts.append(
                f"<h3>{len(j.flagged)} text{'s' if len(j.flagged) != 1 else ''} where the "
                "believed methods disagree: no single explanation is reliable here</h3>"
            )
            for _, row in shown.iterrows():
                per = summary.results.get(row["text_id"], {})
                wa_rows = [per[m] for m in believed if m in per]
                if wa_rows:
                    parts.append(
                        f'<div class="flag"><b>text {_esc(row["text_id"])}</b> (top-word '
                        f"agreement {row['agreement']:.2f}){compare_html(wa_rows, scale='row')}"
                        "</div>"
                    )
        parts.append("</section>")
        notes = list(j.notes)
        if j.indicative:
            notes.append(
                f"Only {j.ranks.get('n_texts', 0)} texts: no confidence intervals; the verdict is "
                "indicative only (run at least 10 texts)."
            )
        if notes:
            parts.append(
                '<ul class="note">' + "".join(f"<li>{_esc(n)}</li>" for n in notes) + "</ul>"
            )
        if cd_png is not None:
            parts.append(_img(cd_png, "critical difference diagram"))
    parts.append(
        '<p class="note">How the verdict is made: on each text the methods are ranked on every '
        "faithfulness metric and the ranks averaged (each metric weighs the same); a Friedman "
        "test and Nemenyi's critical difference (Demšar 2006) group them into tiers (tier 1: not "
        "significantly worse than the best). A method is <i>do not use</i> when it is not better "
        "than the random-ranking baseline on most faithfulness metrics, or fails a randomisation "
        "check (its explanation stays similar when the model's head and layers are re-initialised, "
        "or when another class is explained), whatever its other scores. "
        f"Masking operator (one for all methods): {_esc(s.get('masking_operator', ''))}. "
        f"Bins: {_esc(', '.join(f'{b:.0%}' for b in s.get('bins', [])))} of the words "
        f"(at least one word each); random baseline: {_esc(s.get('n_random', ''))} random "
        "rankings per text.</p>"
    )

    # every metric
    if not summary.metric_table.empty:
        parts.append("<h2>Metrics</h2>")
        parts.append(_html_table(metrics_display(summary)))
        from captum_ext.metrics.protocol import list_metrics

        computed = set(summary.metrics["metric"])
        items = "".join(
            f"<li><b>{_esc(m.label)}</b> ({_esc(m.family)}): {_esc(m.description)}"
            + (f"; {_esc(m.reference)}" if m.reference else "")
            + "</li>"
            for m in list_metrics()
            if m.name in computed
        )
        parts.append(f'<ul class="note">{items}</ul>')
        if deletion_png is not None:
            parts.append(_img(deletion_png, "deletion curves"))

    # agreement
    if heatmaps:
        parts.append("<h2>Agreement between methods</h2>")
        parts.append(
            f'<p class="note">Mean over texts. Words ranked by '
            f"{_esc('signed score towards the target (magnitude for unsigned methods)' if s.get('rank_by', 'target') == 'target' else 'magnitude |score|')}"
            f"; k = {k}. The diagonal is a stochastic method's agreement with itself across seeds "
            "(1 for deterministic methods). The value two random rankings reach on the same texts "
            "is given under each title: on short texts top-k overlap and RBO are high by "
            "chance.</p>"
        )
        for metric in HEATMAP_METRICS:
            if metric in heatmaps:
                parts.append(f'<div class="fig">{_img(heatmaps[metric], metric)}</div>')
        other = [
            _LABELS[m].replace("@k", f"@{k}") for m in AGREEMENT_METRICS if m not in HEATMAP_METRICS
        ]
        parts.append(
            '<p class="note">Also in agreement_matrices.csv: '
            + ", ".join(_esc(m) for m in other)
            + "; per-text values in agreement.csv.</p>"
        )

    if not summary.plausibility.empty:
        parts.append("<h2>Plausibility: agreement with human rationales</h2>")
        parts.append(_html_table(summary.plausibility))
        parts.append(
            '<p class="note">ERASER: token F1 and IOU F1 of the top-k words (k = the number of '
            "words a person marked) and AUPRC of the scores, against the marked words.</p>"
        )

    if not summary.stability.empty:
        parts.append("<h2>Stability of stochastic methods across seeds</h2>")
        parts.append(_html_table(summary.stability))

    parts.append("<h2>Budgets and settings</h2>")
    parts.append(_html_table(_budgets(summary)))
    parts.append("<h2>Time</h2>")
    parts.append(_html_table(summary.timing))
    parts.append(
        '<p class="note">Seconds per text (texts explained together in one batch share the '
        "batch's time equally; a method that reuses perturbed texts another method had scored "
        "in the same chunk is charged only for the new ones). Timings depend on the load of "
        "the machine.</p>"
    )

    errors = summary.attributions[summary.attributions["error"].notna()]
    if len(errors):
        parts.append("<h2>Errors</h2>")
        parts.append(_html_table(errors[["text_id", "method", "error"]]))

    # per text, every method side by side
    parts.append("<h2>Texts</h2>")
    ids = list(summary.results)
    if len(ids) > html_texts:
        parts.append(
            f'<p class="note">The first {html_texts} of {len(ids)} texts; all results are in '
            "records.jsonl.</p>"
        )
    for tid in ids[:html_texts]:
        per = summary.results[tid]
        rows = [per[m] for m in summary.methods if m in per]
        if not rows:
            continue
        parts.append(f"<h3>text {_esc(tid)}</h3>")
        parts.append(compare_html(rows, scale="row"))
    missing = [t for t in texts if t not in summary.results]
    for tid in missing[: max(0, html_texts - len(ids))]:
        parts.append(f"<h3>text {_esc(tid)}</h3><p>{_esc(texts[tid])} (no method succeeded)</p>")

    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{_esc(title)}</title><style>{_CSS}</style></head><body>\n"
        + "\n".join(parts)
        + "\n</body></html>\n"
    )
