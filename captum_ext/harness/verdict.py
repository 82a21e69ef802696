r"""Which explanation to believe: a ranked verdict from the per-text metric values of a run.

A pure function of the records' values (no model): :func:`make_verdict` takes the long table of
:func:`captum_ext.harness.summary.metric_frame` (``text_id``, ``method``, ``metric``, ``family``,
``higher_is_better``, ``value``) and returns a :class:`Verdict`.

**Tiers (faithfulness).** The methods are compared with each other, not only with random
(Demšar 2006): on each text, the methods are ranked on every faithfulness metric (1 = best, ties
averaged, direction of each metric respected) and the ranks averaged over the metrics, so every
faithfulness metric weighs the same and no single deletion-based number decides. The Friedman
test asks whether the methods differ at all; if they do (p < ``alpha``), the Nemenyi critical
difference :math:`CD = q_\alpha \sqrt{k(k+1)/(6N)}` (k methods, N texts, :math:`q_\alpha` the
studentised range quantile over :math:`\sqrt 2`) groups them: tier 1 is every method whose mean
rank is within CD of the best, tier 2 within CD of the best method not in tier 1, and so on. If
the Friedman test finds no difference, every method is tier 1.

**Checks that overrule the tiers.** A method is *do not use* when

* it is not better than random on most faithfulness metrics that have a random baseline (paired
  over texts: the mean gain over the random-ranking baseline is at least ``min_gain`` and, with
  ``min_texts`` texts or more, its 95% bootstrap interval lies above 0; for the leave-one-out
  correlation, whose random baseline is 0, the mean itself), or
* it fails a randomisation check: its explanation stays similar when the model is randomised
  (mean ``randomisation``, the chance-corrected |ρ|, ≥ ``max_similarity``: at least halfway from
  two unrelated rankings to the same ranking) or when another class is explained (mean
  ``random_logit`` ≥ ``max_similarity``), or
* with the ground-truth stage, it misses the planted shortcut (mean ``planted_recall`` < 0.5),

whatever its other scores. The others are *believe* (tier 1) or *tier k*.

**Per text.** Texts where the believed methods disagree on the top words (mean pairwise feature
agreement@k below ``min_text_agreement``) are flagged: no single explanation is reliable there.

References: Demšar 2006, "Statistical Comparisons of Classifiers over Multiple Data Sets", JMLR 7;
Adebayo et al. 2018, "Sanity Checks for Saliency Maps".

Examples::

    >>> import pandas as pd
    >>> rows = []
    >>> for t in range(12):
    ...     for m, v in [("good", 0.5), ("copy", 0.5), ("bad", 0.0), ("random", 0.1)]:
    ...         rows.append({"text_id": str(t), "method": m, "metric": "comprehensiveness",
    ...                      "family": "faithfulness", "higher_is_better": True,
    ...                      "value": v + 0.01 * (t % 3)})
    >>> v = make_verdict(pd.DataFrame(rows))
    >>> print(v.table[["method", "tier", "verdict"]].to_string(index=False))
    method  tier    verdict
      copy     1    believe
      good     1    believe
       bad     2 do not use
    >>> v.headline
    'Believe copy and good on this model (tier 1 on faithfulness, randomisation not checked, stable); do not use bad (not better than random).'
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from captum_ext.errors import InputError

__all__ = [
    "Verdict",
    "critical_difference",
    "faithfulness_ranks",
    "friedman_tiers",
    "make_verdict",
    "paired_gain",
]

RANDOM = "random"


@dataclass
class Verdict:
    """The answer to "which explanation should I believe on this model".

    Attributes:
        headline: one sentence a user can act on (deterministic: no timings).
        cost_note: the timing remark ("occlusion is the cheapest believed method; lime 17× its
            time per text"), kept apart because
            timings differ between runs; empty when nothing is worth saying.
        table: one row per method, ranked (believe first, then by tier and mean rank, do not use
            last): ``method``, ``rank``, ``tier``, ``verdict``, ``reasons``, ``mean_rank``,
            ``better_than_random`` (faithfulness metrics better than random / with a baseline),
            the mean of every metric, ``sentence``.
        notes: where metrics disagree and what the verdict weighted, and other caveats.
        flagged: texts where the believed methods disagree on the top words (``text_id``,
            ``agreement``), most disagreeing first.
        ranks: per-method mean faithfulness rank, the critical difference and the Friedman test
            (``{"mean_rank": {...}, "cd": float, "friedman_p": float, "n_texts": int}``).
        indicative: fewer texts than ``min_texts``: no intervals, the verdict is indicative only.
    """

    headline: str
    cost_note: str
    table: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    flagged: pd.DataFrame = field(default_factory=pd.DataFrame)
    ranks: dict[str, Any] = field(default_factory=dict)
    indicative: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (``summary.json``); timings are left out (see :attr:`cost_note`)."""
        table = self.table.drop(columns=[c for c in self.table.columns if c == "seconds"])
        return {
            "headline": self.headline,
            "indicative": self.indicative,
            "notes": list(self.notes),
            "methods": table.to_dict("records"),
            "flagged_texts": self.flagged.to_dict("records"),
            "ranks": self.ranks,
        }


def paired_gain(
    method: np.ndarray,
    baseline: np.ndarray,
    higher_is_better: bool,
    *,
    n_boot: int = 2000,
    rng: np.random.Generator | None = None,
    with_ci: bool = True,
) -> tuple[float, float, float]:
    """Mean paired gain of a method over a baseline (direction-adjusted: positive = better) and
    its 95% bootstrap interval (``nan`` bounds without ``with_ci`` or with fewer than 2 pairs).

    Examples::

        >>> g, lo, hi = paired_gain(np.array([0.5, 0.6, 0.7]), np.array([0.1, 0.1, 0.1]), True,
        ...                         rng=np.random.default_rng(0))
        >>> round(g, 3), lo > 0
        (0.5, True)
    """
    d = np.asarray(method, dtype=np.float64) - np.asarray(baseline, dtype=np.float64)
    if not higher_is_better:
        d = -d
    d = d[np.isfinite(d)]
    if d.size == 0:
        return float("nan"), float("nan"), float("nan")
    mean = float(d.mean())
    if not with_ci or d.size < 2:
        return mean, float("nan"), float("nan")
    rng = rng or np.random.default_rng(0)
    means = d[rng.integers(0, d.size, size=(n_boot, d.size))].mean(axis=1)
    return mean, float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def faithfulness_ranks(frame: pd.DataFrame, methods: Sequence[str]) -> pd.DataFrame:
    """Texts × methods: each method's rank on each faithfulness metric (1 = best, ties averaged),
    averaged over the metrics. Texts where a method has no faithfulness value are dropped.

    Examples::

        >>> f = pd.DataFrame({"text_id": ["a", "a", "b", "b"], "method": ["x", "y"] * 2,
        ...     "metric": ["m"] * 4, "family": ["faithfulness"] * 4,
        ...     "higher_is_better": [True] * 4, "value": [0.9, 0.1, 0.2, 0.8]})
        >>> faithfulness_ranks(f, ["x", "y"]).values.tolist()
        [[1.0, 2.0], [2.0, 1.0]]
    """
    f = frame[(frame["family"] == "faithfulness") & frame["method"].isin(list(methods))]
    f = f[np.isfinite(f["value"].astype(float))]
    if f.empty:
        return pd.DataFrame(columns=list(methods), dtype=float)
    per_metric = []
    for _metric, sub in f.groupby("metric", sort=True):
        wide = sub.pivot_table(index="text_id", columns="method", values="value", aggfunc="mean")
        wide = wide.reindex(columns=list(methods))
        sign = -1.0 if bool(sub["higher_is_better"].iloc[0]) else 1.0
        ranks = wide.apply(
            lambda row, s=sign: (
                pd.Series(stats.rankdata(s * row.to_numpy(float)), index=row.index)
                if row.notna().all()
                else pd.Series(np.nan, index=row.index)
            ),
            axis=1,
        )
        per_metric.append(ranks)
    stacked = pd.concat(per_metric, keys=range(len(per_metric)))
    mean = stacked.groupby(level=1).mean()
    return mean.dropna(how="any").sort_index()


def critical_difference(k: int, n: int, alpha: float = 0.05) -> float:
    r"""Nemenyi's critical difference of mean ranks: :math:`q_\alpha \sqrt{k(k+1)/(6N)}`.

    :math:`q_\alpha` is the studentised range quantile for k groups (infinite degrees of freedom)
    over :math:`\sqrt 2` (Demšar 2006, Table 5: 2.343 for k = 3, 3.164 for k = 10 at α = 0.05).

    Examples::

        >>> round(critical_difference(3, 10), 3)  # 2.343 * sqrt(3*4/60)
        1.048
    """
    if k < 2 or n < 1:
        return float("nan")
    q = float(stats.studentized_range.ppf(1 - alpha, k, np.inf)) / math.sqrt(2)
    return q * math.sqrt(k * (k + 1) / (6.0 * n))


def friedman_tiers(ranks: pd.DataFrame, alpha: float = 0.05) -> tuple[pd.Series, dict[str, Any]]:
    """Tiers from per-text mean ranks (lower is better): Friedman test, then Nemenyi's CD.

    Returns:
        tuple: ``(tier per method, {"mean_rank", "cd", "friedman_p", "n_texts"})``.

    Examples::

        >>> r = pd.DataFrame({"a": [1.0] * 20, "b": [2.0] * 20, "c": [3.0] * 20})
        >>> tiers, info = friedman_tiers(r)
        >>> tiers.to_dict(), round(info["cd"], 3)
        ({'a': 1, 'b': 2, 'c': 3}, 0.741)
    """
    methods = list(ranks.columns)
    n, k = len(ranks), len(methods)
    mean_rank = ranks.mean(axis=0) if n else pd.Series(np.nan, index=methods)
    info: dict[str, Any] = {
        "mean_rank": {m: float(mean_rank[m]) for m in methods},
        "n_texts": int(n),
        "cd": float("nan"),
        "friedman_p": float("nan"),
    }
    if k < 2 or n < 2:
        return pd.Series(1, index=methods), info
    values = ranks.to_numpy(float)
    if k >= 3:
        p = float(stats.friedmanchisquare(*values.T).pvalue)
    else:  # two methods: the Wilcoxon signed-rank test is Friedman's paired counterpart
        diff = values[:, 0] - values[:, 1]
        p = float(stats.wilcoxon(diff).pvalue) if np.any(diff != 0) else 1.0
    cd = critical_difference(k, n, alpha)
    info.update(cd=float(cd), friedman_p=p)
    if not np.isfinite(p) or p >= alpha:
        return pd.Series(1, index=methods), info
    order = mean_rank.sort_values(kind="stable")
    tiers: dict[str, int] = {}
    tier, anchor = 1, None
    for m, r in order.items():
        if anchor is None:
            anchor = r
        elif r - anchor > cd:
            tier, anchor = tier + 1, r
        tiers[str(m)] = tier
    return pd.Series(tiers).reindex(methods), info


def _mean(frame: pd.DataFrame, method: str, metric: str) -> float:
    v = frame[(frame["method"] == method) & (frame["metric"] == metric)]["value"].astype(float)
    v = v[np.isfinite(v)]
    return float(v.mean()) if len(v) else float("nan")


def _fmt_list(names: Sequence[str]) -> str:
    names = list(names)
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def make_verdict(
    frame: pd.DataFrame,
    *,
    methods: Sequence[str] | None = None,
    top_words: Mapping[str, Mapping[str, Sequence[int]]] | None = None,
    alpha: float = 0.05,
    min_gain: float = 0.01,
    min_texts: int = 10,
    max_similarity: float = 0.5,
    min_text_agreement: float = 0.5,
    slow_ratio: float = 3.0,
    random_state: int = 0,
) -> Verdict:
    """The ranked verdict of a run (see the module for the rules).

    Args:
        frame (pd.DataFrame): the long table of per-text metric values (``method == "random"``
            rows are the random-ranking baseline).
        methods (sequence of str, optional): the methods to judge, in run order. Default: every
            method in ``frame`` but random.
        top_words (mapping, optional): ``{text_id: {method: top-k word indices}}`` for the
            per-text disagreement flags. Default: None (no flags)
        alpha (float, optional): level of the Friedman test and Nemenyi CD. Default: 0.05
        min_gain (float, optional): smallest mean gain over random that counts. Default: 0.01
        min_texts (int, optional): below this many texts, no intervals ("indicative only").
            Default: 10
        max_similarity (float, optional): randomisation and random-logit similarity at or above
            which a method fails the check. Default: 0.5
        min_text_agreement (float, optional): believed methods' mean top-k agreement below
            which a text is flagged. Default: 0.5
        slow_ratio (float, optional): a believed method this many times slower than the fastest
            believed one gets a cost remark. Default: 3.0
        random_state (int, optional): seed of the bootstrap. Default: 0

    Returns:
        Verdict
    """
    required = {"text_id", "method", "metric", "family", "higher_is_better", "value"}
    if not required <= set(frame.columns):
        raise InputError(f"frame needs the columns {sorted(required)}, got {list(frame.columns)}.")
    if methods is None:
        methods = [m for m in dict.fromkeys(frame["method"]) if m != RANDOM]
    methods = [m for m in methods if m != RANDOM]
    # the answer must not depend on the order of the records
    frame = frame.sort_values(["text_id", "method", "metric"], kind="stable").reset_index(drop=True)
    rng = np.random.default_rng(random_state)
    faith = frame[frame["family"] == "faithfulness"]
    n_texts = int(faith[faith["method"].isin(methods)]["text_id"].nunique()) if len(faith) else 0
    indicative = n_texts < min_texts
    ranks = faithfulness_ranks(frame, methods)
    tiers, rank_info = friedman_tiers(ranks, alpha)
    if ranks.empty:
        tiers = pd.Series(1, index=list(methods))

    metric_dirs = (
        frame.drop_duplicates("metric").set_index("metric")[["family", "higher_is_better"]]
        if len(frame)
        else pd.DataFrame(columns=["family", "higher_is_better"])
    )
    faith_metrics = [m for m in metric_dirs.index if metric_dirs.loc[m, "family"] == "faithfulness"]
    rows = []
    for m in methods:
        row: dict[str, Any] = {"method": m}
        beats, tested = 0, 0
        for metric in faith_metrics:
            hib = bool(metric_dirs.loc[metric, "higher_is_better"])
            mine = faith[(faith["method"] == m) & (faith["metric"] == metric)].set_index("text_id")
            rand = faith[(faith["method"] == RANDOM) & (faith["metric"] == metric)].set_index(
                "text_id"
            )
            if mine.empty:
                continue
            if rand.empty:  # no random baseline (leave-one-out correlation): compare with 0
                base = np.zeros(len(mine))
                vals = mine["value"].to_numpy(float)
            else:
                common = mine.index.intersection(rand.index)
                vals = mine.loc[common, "value"].to_numpy(float)
                base = rand.loc[common, "value"].to_numpy(float)
            gain, lo, _hi = paired_gain(vals, base, hib, rng=rng, with_ci=not indicative)
            if not np.isfinite(gain):
                continue
            tested += 1
            if gain >= (min_gain if not rand.empty else 0.0) and (indicative or lo > 0):
                beats += 1
        row["better_than_random"] = f"{beats}/{tested}"
        better = tested > 0 and beats * 2 >= tested
        reasons = []
        if tested and not better:
            reasons.append("not better than random")
        for check, label in (("randomisation", "randomisation"), ("random_logit", "random logit")):
            v = _mean(frame, m, check)
            row[check] = v
            if np.isfinite(v) and v >= max_similarity:
                reasons.append(
                    f"fails {label} ({'|ρ| above chance' if check == 'randomisation' else 'ρ'} "
                    f"{v:.2f})"
                )
        for metric in metric_dirs.index:
            if metric not in row:
                row[metric] = _mean(frame, m, metric)
            if metric_dirs.loc[metric, "family"] == "ground_truth":
                v = row[metric]
                if np.isfinite(v) and bool(metric_dirs.loc[metric, "higher_is_better"]) and v < 0.5:
                    reasons.append(f"misses the planted shortcut (recall@1 {v:.2f})")
        row["mean_rank"] = float(rank_info["mean_rank"].get(m, float("nan")))
        row["tier"] = int(tiers.get(m, 1)) if m in tiers.index else 1
        row["verdict"] = (
            "do not use" if reasons else ("believe" if row["tier"] == 1 else f"tier {row['tier']}")
        )
        row["reasons"] = "; ".join(reasons)
        rows.append(row)
    table = pd.DataFrame(rows)
    if table.empty:
        return Verdict("No method has results: nothing to judge.", "", table, indicative=True)
    table["_group"] = table["verdict"].map(lambda s: 2 if s == "do not use" else 0)
    table = table.sort_values(["_group", "tier", "mean_rank", "method"], kind="stable")
    table = table.drop(columns="_group").reset_index(drop=True)
    table.insert(1, "rank", range(1, len(table) + 1))
    has_random_check = "randomisation" in frame["metric"].values
    table["sentence"] = [_sentence(r, has_random_check, indicative) for _, r in table.iterrows()]

    believe = table[table["verdict"] == "believe"]["method"].tolist()
    rejected = table[table["verdict"] == "do not use"]
    stable_note = _stability_note(table, believe)
    if believe:
        checks = "tier 1 on faithfulness"
        checks += ", pass randomisation" if has_random_check else ", randomisation not checked"
        if (frame["family"] == "ground_truth").any():
            checks += ", find the planted shortcut"
        if stable_note == "stable":
            checks += ", stable"
        headline = f"Believe {_fmt_list(believe)} on this model ({checks})"
        if stable_note and stable_note != "stable":
            headline += f"; {stable_note}"
    else:
        headline = "No method passes every check on this model: read the table before trusting one"
    if len(rejected):
        items = [f"{r['method']} ({r['reasons']})" for _, r in rejected.iterrows()]
        headline += f"; do not use {_fmt_list(items)}"
    headline += "."
    if indicative:
        headline += f" Indicative only: {n_texts} text{'s' if n_texts != 1 else ''}."

    notes = _disagreement_notes(frame, table, faith_metrics, metric_dirs)
    flagged = _flag_texts(top_words or {}, believe, min_text_agreement)
    rank_info = {
        **rank_info,
        "mean_rank": {
            k: (None if not np.isfinite(v) else v) for k, v in rank_info["mean_rank"].items()
        },
    }
    return Verdict(
        headline=headline,
        cost_note=_cost_note(table, believe, slow_ratio),
        table=table,
        notes=notes,
        flagged=flagged,
        ranks=rank_info,
        indicative=indicative,
    )


def _sentence(r: pd.Series, has_random_check: bool, indicative: bool) -> str:
    s = f"{r['method']}: {r['verdict']}"
    if r["verdict"] == "do not use":
        s += f" ({r['reasons']})"
    s += (
        f". Mean faithfulness rank {r['mean_rank']:.2f} (tier {int(r['tier'])}); better than "
        f"random on {r['better_than_random']} faithfulness metrics"
    )
    if has_random_check and np.isfinite(r.get("randomisation", np.nan)):
        s += f"; |ρ| with the randomised model (above chance) {r['randomisation']:.2f}"
    if np.isfinite(r.get("random_logit", np.nan)):
        s += f"; ρ with another class {r['random_logit']:.2f}"
    if np.isfinite(r.get("robustness", np.nan)):
        s += f"; top-k kept under edits {r['robustness']:.2f}"
    s += "."
    if indicative:
        s += " Indicative only."
    return s


def _stability_note(table: pd.DataFrame, believe: list[str]) -> str:
    if "stability" not in table.columns or not believe:
        return "stable"
    sub = table[table["method"].isin(believe)].set_index("method")["stability"].astype(float)
    shaky = [
        f"{m} varies across seeds (top-k agreement {v:.2f})"
        for m, v in sub.items()
        if np.isfinite(v) and v < 0.8
    ]
    return "; ".join(shaky) if shaky else "stable"


def _cost_note(table: pd.DataFrame, believe: list[str], slow_ratio: float) -> str:
    if "seconds" not in table.columns or len(believe) < 2:
        return ""
    sub = table[table["method"].isin(believe)].set_index("method")
    secs = sub["seconds"].astype(float)
    secs = secs[np.isfinite(secs) & (secs > 0)]
    # a method whose model rows were mostly scored already (by another method with the same
    # seed) took less time here than it takes alone: its time is no measure of its cost
    reused = sub["reused_rows"].astype(float) if "reused_rows" in sub.columns else None
    shared = [m for m in secs.index if reused is not None and reused.get(m, np.nan) >= 0.5]
    secs = secs.drop(index=shared)
    if secs.empty:
        return ""
    fastest = secs.idxmin()
    slow = [(m, v / secs[fastest]) for m, v in secs.items() if v / secs[fastest] >= slow_ratio]
    if not slow:
        return ""
    parts = [f"{m} {ratio:.0f}×" for m, ratio in slow]
    note = f"Cost: {fastest} is the cheapest believed method; {_fmt_list(parts)} its time per text."
    if shared:
        note += (
            f" ({_fmt_list(shared)} reused most of {'its' if len(shared) == 1 else 'their'} model"
            " rows from another method in this run: not timed alone.)"
        )
    return note


def _disagreement_notes(
    frame: pd.DataFrame, table: pd.DataFrame, faith_metrics: list[str], dirs: pd.DataFrame
) -> list[str]:
    notes = []
    tier_of = dict(zip(table["method"], table["tier"], strict=True))
    for metric in faith_metrics:
        sub = table.set_index("method")[metric].astype(float)
        sub = sub[np.isfinite(sub)]
        if sub.empty:
            continue
        best = sub.idxmax() if bool(dirs.loc[metric, "higher_is_better"]) else sub.idxmin()
        if tier_of.get(best, 1) != 1:
            notes.append(
                f"{metric} alone ranks {best} first, but {best} is tier {tier_of[best]} over all "
                f"faithfulness metrics: the verdict weights the {len(faith_metrics)} faithfulness "
                "metrics equally (mean rank per text), because each one favours the methods that "
                "optimise its own kind of perturbation."
            )
    if not faith_metrics:
        notes.append("No faithfulness metric was computed: the tiers are not informative.")
    return notes


def _flag_texts(
    top_words: Mapping[str, Mapping[str, Sequence[int]]], believe: list[str], threshold: float
) -> pd.DataFrame:
    rows = []
    if len(believe) >= 2:
        for tid, per in top_words.items():
            sets = [set(per[m]) for m in believe if m in per and len(per[m])]
            if len(sets) < 2:
                continue
            overlaps = [
                len(a & b) / max(len(a), len(b)) for a, b in itertools.combinations(sets, 2)
            ]
            agreement = float(np.mean(overlaps))
            if agreement < threshold:
                rows.append({"text_id": str(tid), "agreement": agreement})
    out = pd.DataFrame(rows, columns=["text_id", "agreement"])
    return out.sort_values(["agreement", "text_id"], kind="stable").reset_index(drop=True)
