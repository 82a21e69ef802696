"""Turn a run's records into pandas data frames: agreement, faithfulness, stability, timing, verdict.

Everything here reads records (see :mod:`captum_ext.harness.store`) and calls only the pure
metric functions: no model is needed to summarise a finished run.

Ranking convention (``rank_by``): ``"target"`` (default) ranks a signed method's words by signed
score (the words that push most towards the explained class first, as
:meth:`WordAttribution.ranking` does) and an unsigned method's (attention) by magnitude;
``"magnitude"`` ranks every method by ``|score|`` (Krishna et al. 2022's convention). Sign and
signed-rank agreement are ``nan`` for pairs with an unsigned method. Agreement is computed over the
words the model saw (truncated words are left out).

Metrics: :func:`metric_frame` gathers every registered metric's value per text and method (one
long table) by iterating the registry (:mod:`captum_ext.metrics.protocol`); the verdict
(:mod:`captum_ext.harness.verdict`) ranks the methods from it.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from captum_ext.errors import InputError
from captum_ext.harness.store import (
    AttributionRecord,
    ErrorRecord,
    MetricsRecord,
    Record,
    VariantsRecord,
    as_records,
)
from captum_ext.harness.verdict import Verdict, make_verdict
from captum_ext.metrics.agreement import agreement_scores
from captum_ext.result import WordAttribution

__all__ = [
    "AGREEMENT_METRICS",
    "Summary",
    "agreement_matrix",
    "agreement_summary",
    "attribution_table",
    "metric_frame",
    "metric_table",
    "pairwise_agreement",
    "plausibility_table",
    "random_pair_agreement",
    "rationale_mask",
    "stability_table",
    "summarize",
    "timing_table",
    "top_word_sets",
]

RankByHarness = Literal["target", "magnitude"]

#: What the functions here read: typed records (:mod:`captum_ext.harness.store`) or their JSON
#: objects (turned into records with :func:`~captum_ext.harness.store.as_records`).
Records = Iterable[Record | Mapping[str, Any]]

#: Column names of :func:`pairwise_agreement`, in display order.
AGREEMENT_METRICS: tuple[str, ...] = (
    "kendall_tau",
    "spearman",
    "feature_agreement",
    "rank_agreement",
    "sign_agreement",
    "signed_rank_agreement",
    "pairwise_rank_agreement",
    "rank_correlation",
    "rbo",
)


def _seen(wa: WordAttribution) -> np.ndarray:
    return wa.seen_words()


def _vector(wa: WordAttribution, seen: np.ndarray) -> np.ndarray:
    return wa.importance()[seen]


def _pair_scores(
    a: WordAttribution, b: WordAttribution, k: int, rank_by: RankByHarness
) -> dict[str, float]:
    if rank_by not in ("target", "magnitude"):
        raise InputError(f"rank_by must be 'target' or 'magnitude', got {rank_by!r}.")
    seen = _seen(a)
    return agreement_scores(
        _vector(a, seen),
        _vector(b, seen),
        k=k,
        by="value" if rank_by == "target" else "abs",
        signs=a.signed and b.signed,
    )


def attributions_by_text(
    records: Records, seed: int | None = None
) -> dict[str, dict[str, WordAttribution]]:
    """``{text_id: {method: WordAttribution}}`` of the attribution records (of one seed if given)."""
    out: dict[str, dict[str, WordAttribution]] = {}
    for r in as_records(records):
        if not isinstance(r, AttributionRecord) or (seed is not None and r.seed != seed):
            continue
        out.setdefault(r.text_id, {})[r.method] = r.attribution
    return out


def attribution_table(records: Records, top: int = 5) -> pd.DataFrame:
    """One row per attribution or error: text id, method, seed, seconds, target, top words.

    Examples::

        >>> attribution_table([]).columns.tolist()[:4]
        ['text_id', 'method', 'seed', 'seconds']
    """
    rows = []
    for r in as_records(records):
        if isinstance(r, AttributionRecord):
            wa = r.attribution
            rows.append(
                {
                    "text_id": r.text_id,
                    "method": r.method,
                    "seed": r.seed,
                    "seconds": r.seconds,
                    "batch": r.batch,
                    "n_words": len(wa.words),
                    "target": wa.target_label,
                    "p_target": float(wa.probs[wa.target]),
                    "signed": wa.signed,
                    "top_words": " | ".join(wa.top_words(top)),
                    "error": None,
                }
            )
        elif isinstance(r, ErrorRecord):
            rows.append(
                {
                    "text_id": r.text_id,
                    "method": r.method,
                    "seed": r.seed,
                    "seconds": r.seconds,
                    "error": r.error,
                }
            )
    cols = [
        "text_id",
        "method",
        "seed",
        "seconds",
        "batch",
        "n_words",
        "target",
        "p_target",
        "signed",
        "top_words",
        "error",
    ]
    return pd.DataFrame(rows, columns=cols)


def pairwise_agreement(
    by_text: dict[str, dict[str, WordAttribution]],
    *,
    methods: Sequence[str] | None = None,
    k: int = 5,
    rank_by: RankByHarness = "target",
) -> pd.DataFrame:
    """Agreement of every pair of methods on every text: one row per (text, method_a, method_b).

    Args:
        by_text: ``{text_id: {method: WordAttribution}}``.
        methods (sequence of str, optional): which methods and in which order. Default: all, sorted.
        k (int, optional): top-k size of Krishna et al.'s metrics. Default: 5
        rank_by (str, optional): ``"target"`` or ``"magnitude"`` (see the module). Default: "target"

    Returns:
        pd.DataFrame: columns ``text_id``, ``method_a``, ``method_b``, ``n_words`` and
        :data:`AGREEMENT_METRICS`.
    """
    if methods is None:
        methods = sorted({m for d in by_text.values() for m in d})
    rows = []
    for tid, per_method in by_text.items():
        present = [m for m in methods if m in per_method]
        for ma, mb in itertools.combinations(present, 2):
            a, b = per_method[ma], per_method[mb]
            rows.append(
                {
                    "text_id": tid,
                    "method_a": ma,
                    "method_b": mb,
                    "n_words": len(_seen(a)),
                    **_pair_scores(a, b, k, rank_by),
                }
            )
    return pd.DataFrame(
        rows, columns=["text_id", "method_a", "method_b", "n_words", *AGREEMENT_METRICS]
    )


def random_pair_agreement(
    by_text: dict[str, dict[str, WordAttribution]],
    *,
    k: int = 5,
    rank_by: RankByHarness = "target",
    n_pairs: int = 20,
    random_state: int = 0,
) -> pd.DataFrame:
    """What two unrelated explanations score: agreement of random signed scores on each text.

    The reference for :func:`pairwise_agreement` (on short texts, top-k overlap and RBO are high
    by chance). One row per text, the mean over ``n_pairs`` random pairs.
    """
    rng = np.random.default_rng(random_state)
    rows = []
    for tid, per_method in by_text.items():
        if not per_method:
            continue
        n = len(_seen(next(iter(per_method.values()))))
        if n < 1:
            continue
        vals = [
            agreement_scores(
                rng.normal(size=n),
                rng.normal(size=n),
                k=k,
                by="value" if rank_by == "target" else "abs",
            )
            for _ in range(n_pairs)
        ]
        rows.append(
            {
                "text_id": tid,
                "method_a": "random",
                "method_b": "random",
                "n_words": n,
                **{m: _nanmean([v[m] for v in vals]) for m in AGREEMENT_METRICS},
            }
        )
    return pd.DataFrame(
        rows, columns=["text_id", "method_a", "method_b", "n_words", *AGREEMENT_METRICS]
    )


def _nanmean(values: Sequence[float]) -> float:
    """Mean of the finite values (``nan`` when there is none, without numpy's warning)."""
    arr = np.asarray(values, dtype=np.float64)
    arr = arr[np.isfinite(arr)]
    return float(arr.mean()) if arr.size else float("nan")


def agreement_summary(pairwise: pd.DataFrame) -> pd.DataFrame:
    """Mean, standard deviation and count (non-nan texts) of every metric per pair of methods.

    Returns:
        pd.DataFrame: columns ``method_a``, ``method_b``, ``metric``, ``mean``, ``std``, ``n``.
    """
    cols = ["method_a", "method_b", "metric", "mean", "std", "n"]
    if pairwise.empty:
        return pd.DataFrame(columns=cols)
    long = pairwise.melt(
        id_vars=["text_id", "method_a", "method_b"],
        value_vars=list(AGREEMENT_METRICS),
        var_name="metric",
    )
    g = long.groupby(["method_a", "method_b", "metric"], sort=False)["value"]
    out = g.agg(mean="mean", std="std", n="count").reset_index()
    return out[cols]


def agreement_matrix(
    summary: pd.DataFrame,
    metric: str,
    methods: Sequence[str],
    diagonal: dict[str, float] | None = None,
) -> pd.DataFrame:
    """A symmetric method × method matrix of one metric's mean.

    The diagonal is 1 (a deterministic method agrees with itself) unless ``diagonal`` gives a
    value (e.g. a stochastic method's agreement with itself across seeds).
    """
    m = pd.DataFrame(np.nan, index=list(methods), columns=list(methods), dtype=float)
    sel = summary[summary["metric"] == metric]
    for _, r in sel.iterrows():
        if r["method_a"] in m.index and r["method_b"] in m.index:
            m.loc[r["method_a"], r["method_b"]] = r["mean"]
            m.loc[r["method_b"], r["method_a"]] = r["mean"]
    for meth in methods:
        m.loc[meth, meth] = (diagonal or {}).get(meth, 1.0)
    return m


def stability_table(
    records: Records,
    *,
    k: int = 5,
    rank_by: RankByHarness = "target",
) -> pd.DataFrame:
    """Agreement of each stochastic method with itself across seeds.

    For every text run with two or more seeds, every pair of seeds is compared; the table gives
    the mean and standard deviation over texts and seed pairs.

    Returns:
        pd.DataFrame: one row per method: ``method``, ``seeds``, ``n_texts``, then
        ``<metric>`` and ``<metric>_std`` for Kendall's τ, Spearman, feature agreement and RBO.
    """
    per: dict[str, dict[str, dict[int, WordAttribution]]] = {}
    for r in as_records(records):
        if isinstance(r, AttributionRecord):
            per.setdefault(r.method, {}).setdefault(r.text_id, {})[r.seed] = r.attribution
    keep = ("kendall_tau", "spearman", "feature_agreement", "rbo")
    rows = []
    for method, texts in per.items():
        vals: list[dict[str, float]] = []
        seeds: set[int] = set()
        n_texts = 0
        for runs in texts.values():
            if len(runs) < 2:
                continue
            n_texts += 1
            seeds.update(runs)
            for sa, sb in itertools.combinations(sorted(runs), 2):
                vals.append(_pair_scores(runs[sa], runs[sb], k, rank_by))
        if not vals:
            continue
        row: dict[str, Any] = {"method": method, "seeds": sorted(seeds), "n_texts": n_texts}
        for m in keep:
            arr = np.array([v[m] for v in vals], dtype=float)
            row[m] = float(np.nanmean(arr)) if np.isfinite(arr).any() else float("nan")
            row[f"{m}_std"] = float(np.nanstd(arr)) if np.isfinite(arr).any() else float("nan")
        rows.append(row)
    cols = ["method", "seeds", "n_texts", *[c for m in keep for c in (m, f"{m}_std")]]
    return pd.DataFrame(rows, columns=cols)


def metric_frame(
    records: Records,
    *,
    methods: Sequence[str] | None = None,
    random_state: int = 0,
    k: int = 5,
) -> pd.DataFrame:
    """Every metric's value per text and method, one row each: the long table the verdict reads.

    Row and variant metrics come from the ``metrics`` and ``variants`` records, record metrics
    (stability, cost) are computed from the records here; every registered metric is iterated,
    so a new metric needs no change here.

    Returns:
        pd.DataFrame: ``text_id``, ``method`` (``"random"``: the random-ranking baseline),
        ``metric``, ``family``, ``higher_is_better``, ``value``.

    Examples::

        >>> metric_frame([]).columns.tolist()
        ['text_id', 'method', 'metric', 'family', 'higher_is_better', 'value']
    """
    from captum_ext.metrics.protocol import RecordMetric, list_metrics

    records = as_records(records)
    registry = {m.name: m for m in list_metrics()}
    keep = None if methods is None else {*methods, "random"}
    rows = []

    def add(tid: str, method: str, name: str, value: float) -> None:
        met = registry.get(name)
        if met is None or (keep is not None and method not in keep):
            return
        rows.append((str(tid), method, name, met.family, met.higher_is_better, float(value)))

    for r in records:
        if isinstance(r, MetricsRecord | VariantsRecord) and r.seed == random_state:
            for name, value in r.values.items():
                add(r.text_id, r.method, name, value if value is not None else np.nan)
    for met in registry.values():
        if isinstance(met, RecordMetric):
            for (tid, method), value in met.compute(
                records, random_state=random_state, k=k
            ).items():
                add(tid, method, met.name, value)
    cols = ["text_id", "method", "metric", "family", "higher_is_better", "value"]
    return pd.DataFrame(rows, columns=cols)


def metric_table(frame: pd.DataFrame, methods: Sequence[str] | None = None) -> pd.DataFrame:
    """Method × metric means over texts (``random`` first, then ``methods`` in order), with
    ``n_texts`` (texts with a faithfulness value).

    Examples::

        >>> f = pd.DataFrame({"text_id": ["a", "b"], "method": ["ig", "ig"], "metric": ["m", "m"],
        ...     "family": ["faithfulness"] * 2, "higher_is_better": [True] * 2, "value": [0.2, 0.4]})
        >>> metric_table(f).round(2).to_dict("records")
        [{'method': 'ig', 'n_texts': 2, 'm': 0.3}]
    """
    if frame.empty:
        return pd.DataFrame(columns=["method", "n_texts"])
    means = frame.pivot_table(index="method", columns="metric", values="value", aggfunc="mean")
    order = list(dict.fromkeys(frame["metric"]))
    means = means.reindex(columns=order)
    faith = frame[frame["family"] == "faithfulness"]
    n = faith.groupby("method")["text_id"].nunique() if len(faith) else pd.Series(dtype=int)
    names = list(methods) if methods is not None else [m for m in means.index if m != "random"]
    index = [m for m in ["random", *names] if m in means.index]
    out = means.reindex(index)
    out.insert(0, "n_texts", [int(n.get(m, 0)) for m in index])
    return out.rename_axis(None, axis=1).reset_index().rename(columns={"index": "method"})


def top_word_sets(
    by_text: dict[str, dict[str, WordAttribution]], k: int
) -> dict[str, dict[str, list[int]]]:
    """``{text_id: {method: top-k seen words by importance}}`` (for the per-text flags)."""
    out: dict[str, dict[str, list[int]]] = {}
    for tid, per in by_text.items():
        for m, wa in per.items():
            seen = wa.seen_words()
            kk = min(k, max(1, len(seen) // 3))
            order = seen[np.argsort(-wa.importance()[seen], kind="stable")]
            out.setdefault(tid, {})[m] = [int(w) for w in order[:kk]]
    return out


def timing_table(records: Records, *, random_state: int = 0) -> pd.DataFrame:
    """Seconds per method at the main seed (``"<method> (extra seeds)"`` for stability runs,
    ``"faithfulness"`` for the scoring step, per text and method).

    Returns:
        pd.DataFrame: ``method``, ``n_texts``, ``total_seconds``, ``mean_seconds`` (per text),
        ``median_seconds``, ``max_seconds``, ``errors``.
    """
    rows: dict[str, dict[str, Any]] = {}
    for r in as_records(records):
        if isinstance(r, AttributionRecord | ErrorRecord):
            name = r.method
            if r.seed != random_state:
                name += " (extra seeds)"
        elif isinstance(r, MetricsRecord):
            name = "faithfulness"
        elif isinstance(r, VariantsRecord):
            name = "sanity checks"
        else:
            continue
        d = rows.setdefault(name, {"method": name, "secs": [], "errors": 0})
        d["secs"].append(float(r.seconds or 0.0))
        d["errors"] += isinstance(r, ErrorRecord)
    out = []
    for d in rows.values():
        secs = np.array(d["secs"])
        out.append(
            {
                "method": d["method"],
                "n_texts": int(secs.size),
                "total_seconds": float(secs.sum()),
                "mean_seconds": float(secs.mean()),
                "median_seconds": float(np.median(secs)),
                "max_seconds": float(secs.max()),
                "errors": d["errors"],
            }
        )
    cols = [
        "method",
        "n_texts",
        "total_seconds",
        "mean_seconds",
        "median_seconds",
        "max_seconds",
        "errors",
    ]
    return pd.DataFrame(out, columns=cols)


def rationale_mask(wa: WordAttribution, spans: Sequence[tuple[int, int]]) -> np.ndarray:
    """0/1 per word of ``wa``: 1 where the word overlaps a human rationale's character span.

    Examples::

        >>> wa = WordAttribution(text="not bad", words=["not", "bad"], spans=[(0, 3), (4, 7)],
        ...     scores=[0.1, 0.2], target=1, labels=("n", "p"), probs=[0.5, 0.5], method="m")
        >>> rationale_mask(wa, [(4, 7)]).tolist()
        [0, 1]
    """
    mask = np.zeros(len(wa.words), dtype=int)
    for start, end in spans:
        for i, (s, e) in enumerate(wa.spans):
            if s < end and start < e:
                mask[i] = 1
    return mask


def plausibility_table(
    by_text: dict[str, dict[str, WordAttribution]],
    rationales: dict[str, list[tuple[int, int]]],
    *,
    methods: Sequence[str] | None = None,
    rank_by: RankByHarness = "target",
) -> pd.DataFrame:
    """Agreement of each method with human rationales (token F1, IOU F1, AUPRC; ERASER).

    Args:
        by_text: ``{text_id: {method: WordAttribution}}``.
        rationales: ``{text_id: [(start, end), ...]}`` character spans a person marked; texts
            without an entry (or with no span) are left out.
        methods (sequence of str, optional): which methods, in order. Default: all.
        rank_by (str, optional): ``"target"`` (signed scores; magnitude for unsigned methods) or
            ``"magnitude"``. Default: "target"

    Returns:
        pd.DataFrame: one row per method: ``method``, ``n_texts``, ``token_f1``, ``iou_f1``,
        ``auprc`` (means over texts).
    """
    from captum_ext.metrics.plausibility import plausibility_scores

    if methods is None:
        methods = sorted({m for d in by_text.values() for m in d})
    rows = []
    for m in methods:
        vals = []
        for tid, per in by_text.items():
            spans = rationales.get(tid)
            if m not in per or not spans:
                continue
            wa = per[m]
            seen = _seen(wa)
            human = rationale_mask(wa, spans)[seen]
            if not human.any():
                continue
            vals.append(
                plausibility_scores(
                    _vector(wa, seen), human, by="value" if rank_by == "target" else "abs"
                )
            )
        if vals:
            rows.append(
                {
                    "method": m,
                    "n_texts": len(vals),
                    **{k: float(np.nanmean([v[k] for v in vals])) for k in vals[0]},
                }
            )
    return pd.DataFrame(rows, columns=["method", "n_texts", "token_f1", "iou_f1", "auprc"])


@dataclass
class Summary:
    """Every table of a comparison run.

    Attributes:
        methods: the methods compared, in run order.
        attributions: :func:`attribution_table`.
        agreement: :func:`pairwise_agreement` (per text and pair) plus the random-pair rows.
        agreement_summary: :func:`agreement_summary` (mean, std, n per pair and metric).
        metrics: :func:`metric_frame`: every metric per text and method (the long table).
        metric_table: :func:`metric_table`: method × metric means.
        verdict: the ranked verdict table (:attr:`judgement`'s ``table``): ``method``, ``rank``,
            ``tier``, ``verdict`` (believe / tier k / do not use), ``reasons``, ``sentence``, ...
        judgement: the whole :class:`~captum_ext.harness.verdict.Verdict` (headline, notes,
            flagged texts, ranks and critical difference).
        stability: :func:`stability_table`.
        timing: :func:`timing_table`.
        results: ``{text_id: {method: WordAttribution}}`` at the main seed.
        settings: how the run was made (k, rank_by, bins, budgets, masking operator, ...).
        plausibility: :func:`plausibility_table` when human rationales were given (else empty).
    """

    methods: list[str]
    attributions: pd.DataFrame
    agreement: pd.DataFrame
    agreement_summary: pd.DataFrame
    metrics: pd.DataFrame
    metric_table: pd.DataFrame
    verdict: pd.DataFrame
    stability: pd.DataFrame
    timing: pd.DataFrame
    judgement: Verdict | None = None
    results: dict[str, dict[str, WordAttribution]] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    plausibility: pd.DataFrame = field(default_factory=pd.DataFrame)

    def _repr_html_(self) -> str:
        from captum_ext.viz.html import summary_html

        return str(summary_html(self))

    @property
    def headline(self) -> str:
        """The verdict in one sentence (with the timing remark, if any)."""
        if self.judgement is None:
            return ""
        return " ".join(x for x in (self.judgement.headline, self.judgement.cost_note) if x)

    def matrix(self, metric: str = "kendall_tau") -> pd.DataFrame:
        """Method × method mean of ``metric``; the diagonal is self-agreement across seeds
        for stochastic methods (1 for deterministic ones)."""
        if metric not in AGREEMENT_METRICS:
            raise InputError(
                f"metric must be one of {', '.join(AGREEMENT_METRICS)}, got {metric!r}."
            )
        diag: dict[str, float] = {}
        if not self.stability.empty and metric in self.stability.columns:
            diag = dict(zip(self.stability["method"], self.stability[metric], strict=True))
        summary = self.agreement_summary
        return agreement_matrix(summary, metric, self.methods, diag)


def summarize(
    records: Records,
    *,
    methods: Sequence[str] | None = None,
    random_state: int = 0,
    k: int = 5,
    rank_by: RankByHarness = "target",
    settings: dict[str, Any] | None = None,
    rationales: dict[str, list[tuple[int, int]]] | None = None,
) -> Summary:
    """Every table of a run from its records.

    Args:
        records (iterable of Record or dict): the run's records (``ResultStore.records()``;
            their JSON objects are read too).
        methods (sequence of str, optional): methods to include, in order. Default: those in
            the records, in order of appearance.
        random_state (int, optional): the run's main seed (other seeds count as stability runs).
            Default: 0
        k (int, optional): top-k size for the agreement metrics. Default: 5
        rank_by (str, optional): ``"target"`` or ``"magnitude"``. Default: "target"
        settings (dict, optional): stored in :attr:`Summary.settings`. Default: None
        rationales (dict, optional): ``{text_id: [(start, end), ...]}`` human rationales (character
            spans) for the plausibility table. Default: None

    Returns:
        Summary
    """
    records = as_records(records)
    if methods is None:
        methods = list(
            dict.fromkeys(
                r.method for r in records if isinstance(r, AttributionRecord | ErrorRecord)
            )
        )
    methods = list(methods)
    mset = set(methods)
    main = [r for r in records if r.method in mset or r.method == "random"]
    by_text = attributions_by_text(main, seed=random_state)
    pairwise = pairwise_agreement(by_text, methods=methods, k=k, rank_by=rank_by)
    rand_pairs = random_pair_agreement(by_text, k=k, rank_by=rank_by, random_state=random_state)
    agreement = (
        pd.concat([pairwise, rand_pairs], ignore_index=True)
        if len(pairwise) and len(rand_pairs)
        else (pairwise if len(pairwise) else rand_pairs)
    )
    frame = metric_frame(main, methods=methods, random_state=random_state, k=k)
    judgement = make_verdict(
        frame,
        methods=methods,
        top_words=top_word_sets(by_text, k),
        random_state=random_state,
    )
    return Summary(
        methods=methods,
        attributions=attribution_table(main),
        agreement=agreement,
        agreement_summary=agreement_summary(agreement),
        metrics=frame,
        metric_table=metric_table(frame, methods),
        verdict=judgement.table,
        judgement=judgement,
        stability=stability_table(main, k=k, rank_by=rank_by),
        timing=timing_table(main, random_state=random_state),
        results=by_text,
        settings={"k": k, "rank_by": rank_by, "random_state": random_state, **(settings or {})},
        plausibility=plausibility_table(by_text, rationales, methods=methods, rank_by=rank_by)
        if rationales
        else pd.DataFrame(),
    )
