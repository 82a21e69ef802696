r"""Which sample-level method to believe on this model: four checks and a verdict.

Every method of the sample-level registry (:mod:`captum_ext.influence.registry`) returns, for a
test text, the training tweets its prediction rests on. Four checks say whether those tweets
depend on the test text, on the trained weights, on the prediction and on what the model really
learnt:

* **test-dependence** (Hanawa et al., "Evaluation of Similarity-based Explanations", ICLR 2021):
  the mean Jaccard similarity of the top-``k`` training tweets between every pair of unrelated
  test texts. High means the method returns the same (globally influential, e.g. high-loss)
  tweets whatever the test text. Pass: at most :data:`MAX_TEST_DEPENDENCE`.
* **model randomisation** (Adebayo et al., "Sanity Checks for Saliency Maps", NeurIPS 2018): the
  same texts explained again with the classifier head, a pooler and the top transformer block
  re-initialised (:func:`~captum_ext.influence.randomise.randomised_top`; the trained weights are
  restored afterwards). The mean Jaccard of the two top-``k`` sets and the mean Spearman
  correlation of the two score vectors over all training tweets; an explanation that survives the
  destruction of the model does not explain the model. Pass: top-``k`` Jaccard at most
  :data:`MAX_RANDOMISATION_OVERLAP`.
* **label agreement** (Hanawa et al.'s *identical class test*, on the top ``k`` rather than the
  top 1): the share of the top-``k`` training tweets whose label is the model's predicted class
  for the test text. Pass: at least :data:`MIN_LABEL_AGREEMENT`.
* **planted shortcut** (optional; ground truth): on a model fine-tuned with a nonce token that
  forces one class (:func:`captum_ext.train.planted.plant_shortcut`), the share of the top-``k``
  training tweets of test texts carrying the token that carry it too, beside the base rate (the
  share of all training tweets carrying it). Pass: at least halfway from the base rate to 1.

:func:`sample_verdict` turns the measured table into one sentence and a ranked table (a pure
function of the rows); :func:`judge_sample_methods` measures it.

Examples::

    >>> import numpy as np
    >>> from captum_ext.influence.judge import label_agreement, unrelated_overlap
    >>> top = np.array([[0, 1, 2], [0, 1, 3], [4, 5, 6]])
    >>> round(unrelated_overlap(top), 3)      # pairs: 2/4, 0, 0
    0.167
    >>> round(label_agreement(top, np.array([1, 1, 0, 0, 1, 1, 1]), np.array([1, 0, 1])), 3)
    0.667
"""

from __future__ import annotations

import logging
import tempfile
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from captum_ext.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

    from captum_ext.adapters import TextClassifierAdapter
    from captum_ext.data import TextDataset

__all__ = [
    "MAX_RANDOMISATION_OVERLAP",
    "MAX_TEST_DEPENDENCE",
    "MIN_LABEL_AGREEMENT",
    "SampleJudgement",
    "judge_sample_methods",
    "label_agreement",
    "planted_share",
    "planted_threshold",
    "randomisation_overlap",
    "rank_correlation",
    "sample_verdict",
    "top_k",
    "unrelated_overlap",
]

logger = logging.getLogger("captum_ext.influence")

#: Largest mean top-k Jaccard between unrelated test texts that passes test-dependence.
MAX_TEST_DEPENDENCE = 0.2
#: Largest mean top-k Jaccard between the trained and the randomised model that passes.
MAX_RANDOMISATION_OVERLAP = 0.2
#: Smallest share of top-k training labels equal to the prediction that passes.
MIN_LABEL_AGREEMENT = 0.7


# -- the measures (pure functions of indices and scores) ---------------------------------------
def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """``(n, k)`` indices of the ``k`` largest scores of each row, largest first (ties: lower
    index first)."""
    scores = np.asarray(scores, dtype=np.float64)
    if not 1 <= k <= scores.shape[1]:
        raise InputError(f"k must be in [1, {scores.shape[1]}] (the training set), got {k}.")
    return np.argsort(-scores, axis=1, kind="stable")[:, :k]


def _jaccard(a: np.ndarray, b: np.ndarray) -> float:
    sa, sb = set(a.tolist()), set(b.tolist())
    return len(sa & sb) / len(sa | sb)


def unrelated_overlap(indices: np.ndarray) -> float:
    """Mean Jaccard of the top-k sets over all pairs of rows (test texts); needs two rows."""
    indices = np.asarray(indices)
    if len(indices) < 2:
        raise InputError("test-dependence needs at least 2 test texts, got 1: give more texts.")
    return float(np.mean([_jaccard(indices[i], indices[j]) for i, j in combinations(range(len(indices)), 2)]))  # fmt: skip


def randomisation_overlap(trained: np.ndarray, randomised: np.ndarray) -> float:
    """Mean, over test texts, of the Jaccard of the two top-k sets (row by row)."""
    return float(np.mean([_jaccard(a, b) for a, b in zip(trained, randomised, strict=True)]))


def rank_correlation(trained: np.ndarray, randomised: np.ndarray) -> float:
    """Mean, over test texts, of the Spearman correlation of the two score rows (over all
    training tweets); a constant row counts as 0."""
    from scipy.stats import spearmanr

    out = []
    for a, b in zip(np.asarray(trained), np.asarray(randomised), strict=True):
        if np.ptp(a) == 0 or np.ptp(b) == 0:
            out.append(0.0)
        else:
            out.append(float(spearmanr(a, b).statistic))
    return float(np.mean(out))


def label_agreement(indices: np.ndarray, train_labels: np.ndarray, predicted: np.ndarray) -> float:
    """Share of the top-k training tweets (all test texts together) whose label is the test
    text's predicted class."""
    labels = np.asarray(train_labels)[np.asarray(indices)]
    return float((labels == np.asarray(predicted)[:, None]).mean())


def planted_share(indices: np.ndarray, carries: np.ndarray) -> float:
    """Share of the top-k training tweets (all test texts together) that carry the planted
    token (``carries``: one bool per training tweet)."""
    return float(np.asarray(carries, dtype=bool)[np.asarray(indices)].mean())


def planted_threshold(base_rate: float) -> float:
    """The planted check passes at this share or more: halfway from the base rate to 1."""
    return base_rate + 0.5 * (1.0 - base_rate)


# -- the verdict (a pure function of the rows) --------------------------------------------------
def _failures(row: Mapping[str, Any]) -> list[str]:
    """Plain-language reasons ``row`` fails, one per failed check that ran."""
    k = row.get("k", 10)
    out = []
    td = row.get("test_dependence")
    if td is not None and np.isfinite(td) and td > MAX_TEST_DEPENDENCE:
        out.append(f"returns the same training tweets for unrelated texts (Jaccard {td:.2f})")
    ro = row.get("randomisation_overlap")
    if ro is not None and np.isfinite(ro) and ro > MAX_RANDOMISATION_OVERLAP:
        out.append(f"barely changes when the top of the model is re-initialised (top-{k} "
                   f"Jaccard {ro:.2f})")  # fmt: skip
    la = row.get("label_agreement")
    if la is not None and np.isfinite(la) and la < MIN_LABEL_AGREEMENT:
        out.append(f"only {la:.0%} of its top-{k} carry the predicted label")
    ps, base = row.get("planted_share"), row.get("planted_base_rate")
    if ps is not None and base is not None and np.isfinite(ps) and ps < planted_threshold(base):
        out.append(f"misses the planted shortcut ({ps:.0%} of its top-{k} carry it, base rate "
                   f"{base:.0%})")  # fmt: skip
    return out


def _checks_run(row: Mapping[str, Any]) -> int:
    keys = ("test_dependence", "randomisation_overlap", "label_agreement", "planted_share")
    return sum(1 for key in keys if row.get(key) is not None and np.isfinite(row[key]))


def sample_verdict(rows: Sequence[Mapping[str, Any]]) -> tuple[str, pd.DataFrame]:
    """One sentence and a ranked table from the measured rows (one per method).

    A method that fails no check that ran is "believe"; one that fails only label agreement is
    "use with care"; any other failure is "do not use". Rows are ranked by verdict, then by the
    planted share (higher first), then by test-dependence (lower first).

    Args:
        rows: dicts with ``method`` and any of ``test_dependence``, ``randomisation_overlap``,
            ``randomisation_spearman``, ``label_agreement``, ``planted_share``,
            ``planted_base_rate``, ``k``, ``seconds`` (missing or NaN: the check did not run).

    Returns:
        tuple: ``(headline, table)``; the table has the rows' columns plus ``verdict``,
        ``checks_passed`` (e.g. ``"3/4"``) and ``reasons``.

    Examples::

        >>> from captum_ext.influence.judge import sample_verdict
        >>> headline, table = sample_verdict([
        ...     {"method": "representer", "test_dependence": 0.46, "label_agreement": 0.6,
        ...      "planted_share": 0.0, "planted_base_rate": 0.15},
        ...     {"method": "knn", "test_dependence": 0.02, "label_agreement": 0.95,
        ...      "planted_share": 1.0, "planted_base_rate": 0.15}])
        >>> print(headline)  # doctest: +NORMALIZE_WHITESPACE
        Believe knn on this model (passes all 3 checks). Do not use representer: it returns the
        same training tweets for unrelated texts (Jaccard 0.46); only 60% of its top-10 carry the
        predicted label; misses the planted shortcut (0% of its top-10 carry it, base rate 15%).
        >>> table[["method", "verdict", "checks_passed"]].values.tolist()
        [['knn', 'believe', '3/3'], ['representer', 'do not use', '0/3']]
    """
    import pandas as pd

    if not rows:
        raise InputError("no methods to judge: give at least one row.")
    table = pd.DataFrame([dict(r) for r in rows])
    verdicts, passed, reasons = [], [], []
    for row in table.to_dict("records"):
        fails = _failures(row)
        n = _checks_run(row)
        label_only = len(fails) == 1 and "predicted label" in fails[0]
        verdicts.append("believe" if not fails else "use with care" if label_only else "do not use")
        passed.append(f"{n - len(fails)}/{n}")
        reasons.append("; ".join(fails))
    table["verdict"], table["checks_passed"], table["reasons"] = verdicts, passed, reasons
    order = {"believe": 0, "use with care": 1, "do not use": 2}
    key = pd.DataFrame({
        "v": table["verdict"].map(order),
        "p": -table.get("planted_share", pd.Series(0.0, index=table.index)).fillna(-1.0),
        "t": table.get("test_dependence", pd.Series(0.0, index=table.index)).fillna(1.0),
    })  # fmt: skip
    table = table.loc[key.sort_values(["v", "p", "t"], kind="stable").index].reset_index(drop=True)
    return _headline(table), table


def _headline(table: pd.DataFrame) -> str:
    believe = table[table.verdict == "believe"]
    parts = []
    if len(believe):
        n = _checks_run(believe.iloc[0].to_dict())
        names = " and ".join(believe.method)
        parts.append(f"Believe {names} on this model (passes all {n} checks).")
    else:
        best = table.iloc[0]
        parts.append(f"No sample-level method passes every check on this model; the least bad "
                     f"is {best.method} ({best.checks_passed} checks).")  # fmt: skip
    for row in table[table.verdict != "believe"].itertuples():
        if row.verdict == "use with care":
            parts.append(f"Use {row.method} with care: {row.reasons}.")
        else:
            reasons = row.reasons.replace("returns", "it returns", 1)
            parts.append(f"Do not use {row.method}: {reasons}.")
    return " ".join(parts)


# -- measuring ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class SampleJudgement:
    """What :func:`judge_sample_methods` returns.

    Attributes:
        headline (str): The verdict in one sentence (:func:`sample_verdict`).
        table (pandas.DataFrame): One ranked row per method: the measures, ``verdict``,
            ``checks_passed``, ``reasons``, ``seconds``.
        k (int): Training tweets per test text.
        settings (dict): Texts, randomised modules, seed and the planted-shortcut settings.
    """

    headline: str
    table: pd.DataFrame
    k: int
    settings: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (NaN as None)."""
        rows = [
            {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in r.items()}
            for r in self.table.to_dict("records")
        ]
        return {"headline": self.headline, "k": self.k, "methods": rows, "settings": self.settings}

    def to_text(self) -> str:
        """The headline and the table, for a terminal."""
        cols = [
            ("method", "method", "{}"),
            ("verdict", "verdict", "{}"),
            ("test_dependence", "test-dep", "{:.2f}"),
            ("randomisation_overlap", "rand-overlap", "{:.2f}"),
            ("randomisation_spearman", "rand-spearman", "{:+.2f}"),
            ("label_agreement", "label-agree", "{:.0%}"),
            ("planted_share", "planted", "{:.0%}"),
            ("planted_base_rate", "base-rate", "{:.0%}"),
            ("seconds", "seconds", "{:.1f}"),
        ]
        cols = [c for c in cols if c[0] in self.table.columns]
        cells = [[h for _, h, _ in cols]]
        for row in self.table.to_dict("records"):
            cells.append([
                "-" if row[c] is None or (isinstance(row[c], float) and not np.isfinite(row[c]))
                else fmt.format(row[c]) for c, _, fmt in cols
            ])  # fmt: skip
        widths = [max(len(r[i]) for r in cells) for i in range(len(cols))]
        lines = ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in cells]
        return self.headline + "\n\n" + "\n".join(lines)


def _method_scores(
    name: str,
    adapter: TextClassifierAdapter,
    train: TextDataset,
    texts: list[str],
    settings: Mapping[str, Any],
    cache_dir: Any,
) -> np.ndarray:
    """``(n_texts, n_train)`` scores of method ``name``, larger = more in favour."""
    from captum_ext.influence.registry import get_sample_method, make_sample_method

    spec = get_sample_method(name)
    kwargs = dict(settings)
    if spec.feature_cache:
        kwargs.setdefault("cache_dir", cache_dir)
    method = make_sample_method(name, adapter, train, **kwargs)
    scores = np.asarray(method.influence(texts, k=None), dtype=np.float64)
    return -scores if getattr(method, "metric", None) == "euclidean" else scores


def judge_sample_methods(
    adapter: TextClassifierAdapter,
    train: TextDataset,
    texts: Sequence[str],
    *,
    methods: Sequence[str] | None = None,
    k: int = 10,
    planted: Any = None,
    randomise: bool = True,
    n_layers: int = 1,
    seed: int = 0,
    method_settings: Mapping[str, Mapping[str, Any]] | None = None,
    cache_dir: str | Path | None = None,
) -> SampleJudgement:
    """Run the checks for every sample-level method and give the verdict.

    Args:
        adapter (TextClassifierAdapter): The model.
        train (TextDataset): Its training tweets.
        texts (list of str): Unrelated test texts (at least 2; about 10 is enough).
        methods (list of str, optional): Registry names. Default: None (all registered).
        k (int, optional): Training tweets per test text. Default: 10
        planted (PlantedShortcut, optional): A planted-shortcut model
            (:func:`captum_ext.train.planted.plant_shortcut`) for the planted check. When
            ``adapter`` is that model and ``train`` its training set, its test texts are scored
            in the same pass. Default: None (no planted check)
        randomise (bool, optional): Run the model-randomisation check. Default: True
        n_layers (int, optional): Transformer blocks re-initialised with the head. Default: 1
        seed (int, optional): Seed of the re-initialised weights. Default: 0
        method_settings (dict, optional): ``{name: {setting: value}}`` for the factories.
        cache_dir (str or Path, optional): Feature cache of the trained model's methods
            (the randomised model's features go to a temporary folder). Default: None (user
            cache).

    Returns:
        SampleJudgement: the headline, the ranked table, ``k`` and the settings.
    """
    from captum_ext.adapters import TextClassifierAdapter
    from captum_ext.influence.randomise import randomised_top
    from captum_ext.influence.registry import get_sample_method, list_sample_methods

    texts = list(texts)
    if len(texts) < 2:
        raise InputError(f"give at least 2 test texts to judge the methods, got {len(texts)}.")
    names = [m.name for m in list_sample_methods()] if methods is None else list(methods)
    for name in names:
        get_sample_method(name)
    if not 1 <= k <= len(train):
        raise InputError(f"k must be in [1, {len(train)}] (the training set), got {k}.")
    method_settings = method_settings or {}
    predicted = adapter.predict_proba(texts).argmax(axis=1)

    same_model = (
        planted is not None
        and train == planted.train
        and Path(str(getattr(adapter.model, "name_or_path", ""))).resolve()
        == Path(planted.model_dir).resolve()
    )
    planted_adapter = None
    if planted is not None and not same_model:
        planted_adapter = TextClassifierAdapter.from_pretrained(
            planted.model_dir, max_length=adapter.max_length
        )
    n_texts = len(texts)
    rows = []
    for name in names:
        settings = method_settings.get(name, {})
        row: dict[str, Any] = {"method": name, "k": k}
        t0 = time.perf_counter()
        query = texts + list(planted.test_texts) if same_model else texts
        scores = _method_scores(name, adapter, train, query, settings, cache_dir)
        idx = top_k(scores, k)
        row["test_dependence"] = unrelated_overlap(idx[:n_texts])
        row["label_agreement"] = label_agreement(idx[:n_texts], train.labels, predicted)
        if planted is not None:
            if same_model:
                p_idx = idx[n_texts:]
            else:
                assert planted_adapter is not None
                p_scores = _method_scores(
                    name, planted_adapter, planted.train, list(planted.test_texts),
                    settings, cache_dir,
                )  # fmt: skip
                p_idx = top_k(p_scores, k)
            row["planted_share"] = planted_share(p_idx, planted.carries)
            row["planted_base_rate"] = float(np.mean(planted.carries))
        if randomise:
            with (
                tempfile.TemporaryDirectory(prefix="captum-ext-random-") as tmp,
                randomised_top(
                    adapter.model, num_labels=adapter.num_labels, n_layers=n_layers, seed=seed
                ),
                warnings.catch_warnings(),
            ):
                warnings.simplefilter("ignore")
                r_scores = _method_scores(name, adapter, train, texts, settings, tmp)
            row["randomisation_overlap"] = randomisation_overlap(idx[:n_texts], top_k(r_scores, k))
            row["randomisation_spearman"] = rank_correlation(scores[:n_texts], r_scores)
        row["seconds"] = time.perf_counter() - t0
        logger.info("judged %s in %.1f s", name, row["seconds"])
        rows.append(row)
    headline, table = sample_verdict(rows)
    settings_out: dict[str, Any] = {
        "n_texts": n_texts,
        "n_train": len(train),
        "randomised": randomise,
        "n_layers": n_layers,
        "seed": seed,
        "thresholds": {
            "test_dependence_max": MAX_TEST_DEPENDENCE,
            "randomisation_overlap_max": MAX_RANDOMISATION_OVERLAP,
            "label_agreement_min": MIN_LABEL_AGREEMENT,
            "planted": "share >= base rate + (1 - base rate) / 2",
        },
    }
    if planted is not None:
        settings_out["planted"] = {
            "token": planted.token,
            "planted_label": planted.planted_label,
            "n_test_texts": len(planted.test_texts),
            "model_dir": str(planted.model_dir),
        }
    return SampleJudgement(headline=headline, table=table, k=k, settings=settings_out)
