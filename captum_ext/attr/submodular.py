r"""SP-LIME: pick a few texts whose explanations cover the important words of a dataset.

The submodular pick of Ribeiro et al. 2016 (https://arxiv.org/abs/1602.04938), with the options
of official ``lime.submodular_pick.SubmodularPick`` plus a seed, in bounded memory: each
explanation is reduced to its ``num_features`` weights as soon as it is computed (no perturbed
texts, no explanation objects are kept), appended to a JSONL store when one is given, and an
interrupted run resumes from that store. The greedy pick is official LIME's (same coverage
function, same tie-breaking), computed with sparse matrices.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import sparse

from captum_ext.attr.text_lime import TextLime
from captum_ext.errors import InputError
from captum_ext.validation import check_scalar

if TYPE_CHECKING:
    from captum_ext.engines import RayEngine

__all__ = ["SparseExplanation", "SubmodularPick", "coverage_pick"]

_STORE_VERSION = 1
_RAY_SHARD = 16  # texts per Ray task: a killed job loses at most this many per worker


@dataclass
class SparseExplanation:
    """One text's explanation reduced to what SP-LIME needs.

    Attributes:
        index: position of the text in ``data``.
        text: the text.
        label: the explained class (the predicted one with ``top_labels=1``).
        features: ``[name, weight]`` pairs, at most ``num_features``, by decreasing |weight|.
        intercept, score, local_pred, model_pred: the surrogate's intercept, weighted R², its
            prediction for the text and the model's.
        other_labels: with ``top_labels > 1``, the same fields for the other labels (dicts).
    """

    index: int
    text: str
    label: int
    features: list[list[Any]]
    intercept: float
    score: float
    local_pred: float
    model_pred: float
    other_labels: list[dict[str, Any]] = field(default_factory=list)

    def all_features(self) -> list[list[Any]]:
        """The ``[name, weight]`` pairs of every explained label."""
        return [*self.features, *(f for o in self.other_labels for f in o["features"])]

    def as_list(self) -> list[tuple[str, float]]:
        """``(feature, weight)`` pairs, like official ``Explanation.as_list``."""
        return [(str(n), float(w)) for n, w in self.features]

    def top_words(self, k: int = 5) -> list[str]:
        """The ``k`` features with the largest |weight|."""
        return [str(n) for n, _ in self.features[:k]]


def coverage_pick(W: sparse.spmatrix | np.ndarray, budget: int) -> list[int]:
    """Official SP-LIME's greedy pick on an explanation matrix ``W`` (texts × features).

    Feature importance ``I_j = sqrt(Σ_i |W_ij|)``; each step adds the text that maximises the
    importance covered by the picked texts. Ties go to the highest row index, as in official
    ``SubmodularPick`` (it scans the remaining rows in increasing order with ``>=``).

    Args:
        W: explanation weights, dense or sparse, shape ``(n_texts, n_features)``.
        budget: number of texts to pick (capped at ``n_texts``).

    Returns:
        row indices in pick order.

    Examples::

        >>> import numpy as np
        >>> W = np.array([[1.0, 0, 0], [0, 2.0, 0], [1.0, 0, 3.0]])
        >>> coverage_pick(W, 2)
        [2, 1]
    """
    A = abs(sparse.csr_matrix(W, dtype=np.float64))
    n, d = A.shape
    budget = min(int(budget), n)
    importance = np.sqrt(np.asarray(A.sum(axis=0)).ravel())
    present = (A > 0).astype(np.float64).tocsr()
    covered = np.zeros(d, dtype=bool)
    covered_value = 0.0
    remaining = np.ones(n, dtype=bool)
    picked: list[int] = []
    for _ in range(budget):
        gains = present @ np.where(covered, 0.0, importance)
        current = np.where(remaining, covered_value + gains, -np.inf)
        best = float(current.max())
        idx = int(np.flatnonzero(current == best)[-1])
        picked.append(idx)
        remaining[idx] = False
        cols = present.indices[present.indptr[idx] : present.indptr[idx + 1]]
        newly = cols[~covered[cols]]
        covered[newly] = True
        covered_value = float(importance[covered].sum())
    return picked


class SubmodularPick:
    r"""SP-LIME over a list of texts with a :class:`~captum_ext.attr.TextLime` explainer.

    Mirrors official ``SubmodularPick(explainer, data, predict_fn, method, sample_size,
    num_exps_desired, num_features, top_labels=..., num_samples=...)``: explains
    ``sample_size`` random texts (``method="sample"``) or all of them (``method="full"``), keeps
    the ``num_features`` largest weights of each, builds the explanation matrix ``W`` and picks
    ``num_exps_desired`` texts greedily. The work happens in the constructor, as in official LIME.

    Args:
        explainer (TextLime): the explainer (its adapter calls the model). Feature selection
            follows the explainer's settings; the ``num_features`` largest weights are kept.
        data (sequence of str): the texts.
        method (str, optional): ``"sample"`` or ``"full"``. Default: ``"sample"``
        sample_size (int, optional): texts explained with ``method="sample"``. Default: 1000
        num_exps_desired (int, optional): texts to pick (the budget B). Default: 5
        num_features (int, optional): weights kept per explanation. Default: 10
        top_labels (int, optional): explain the ``top_labels`` most probable classes of each
            text (their weights add up in ``W``, as official). Default: 1
        n_samples (int, optional): neighbourhood size of each explanation (official
            ``num_samples``). Default: 5000
        random_state (int, optional): seed of the sample of texts (the same indices as official
            after ``np.random.seed(random_state)``) and of each explanation. Default: None
        store (str or Path, optional): JSONL file; explanations are appended as computed and a
            run with the same store, data and settings resumes where it stopped. Default: None
        show_progress (bool, optional): a progress bar over the texts. Default: False
        engine (RayEngine, optional): explain on Ray actors
            (:class:`~captum_ext.engines.RayEngine`, whose model must be the explainer's): the
            explainer travels without its model and is rebuilt on each actor's; explanations
            are seeded by ``(random_state, index)``, so they equal this process's, and are
            appended to ``store`` as each shard arrives. Default: None (this process)

    Attributes:
        explanations (list of SparseExplanation): every candidate explanation.
        sp_explanations (list of SparseExplanation): the picked ones, in pick order.
        V (list of int): positions of the picked ones in ``explanations`` (official's ``V``).
        picked_indices (list of int): positions of the picked texts in ``data``.
        W (scipy.sparse.csr_matrix): the explanation matrix; ``feature_names`` its columns.
        n_resumed (int): explanations read back from ``store``.

    Examples::

        >>> from captum_ext.adapters import TextClassifierAdapter
        >>> from captum_ext import TextLime
        >>> from captum_ext.attr import SubmodularPick
        >>> adapter = TextClassifierAdapter.from_pretrained()  # doctest: +SKIP
        >>> tweets = ["what a lovely day", "i hate mondays", "not bad at all",
        ...           "so tired of this rain", "best dinner in a long time", "my phone broke again"]
        >>> lime = TextLime(adapter, units="lime", bow=True, random_state=0)  # doctest: +SKIP
        >>> sp = SubmodularPick(lime, tweets, method="full", num_exps_desired=2,
        ...                     n_samples=500, random_state=0, store="sp.jsonl")  # doctest: +SKIP
        >>> sp.picked_indices  # doctest: +SKIP
        [2, 5]
        >>> sp.sp_explanations[0].features[0][0]  # the top word of the first pick  # doctest: +SKIP
        'not'
    """

    def __init__(
        self,
        explainer: TextLime,
        data: Sequence[str],
        method: str = "sample",
        sample_size: int = 1000,
        num_exps_desired: int = 5,
        num_features: int = 10,
        *,
        top_labels: int = 1,
        n_samples: int = 5000,
        random_state: int | None = None,
        store: str | os.PathLike[str] | None = None,
        show_progress: bool = False,
        engine: RayEngine | None = None,
    ) -> None:
        if not isinstance(explainer, TextLime):
            raise InputError(
                f"explainer must be a captum_ext TextLime, got {type(explainer).__name__}."
            )
        data = list(data)
        if not data:
            raise InputError("data is empty: give at least one text.")
        if method not in ("sample", "full"):
            raise InputError(f"method must be 'sample' or 'full', got {method!r}.")
        for name, value in (
            ("sample_size", sample_size),
            ("num_exps_desired", num_exps_desired),
            ("num_features", num_features),
            ("top_labels", top_labels),
            ("n_samples", n_samples),
        ):
            check_scalar(int(value), name, min_val=1)
        self.explainer = explainer
        self.method = method
        self.num_features = int(num_features)
        self.top_labels = int(top_labels)
        self.n_samples = int(n_samples)
        self.random_state = random_state
        self.engine = engine
        if engine is not None and explainer.adapter is None:
            raise InputError(
                "engine= needs a TextLime built on an adapter (TextLime(adapter, ...)): a plain "
                "forward function cannot be rebuilt on the Ray workers."
            )

        if method == "sample":
            if sample_size > len(data):
                warnings.warn(
                    f"sample_size={sample_size} is larger than the data ({len(data)} texts): "
                    "explaining all of them.",
                    stacklevel=2,
                )
                sample_size = len(data)
            all_indices = np.arange(len(data))
            if random_state is None:
                np.random.shuffle(all_indices)  # official LIME's global generator
            else:
                np.random.RandomState(random_state).shuffle(all_indices)
            self.sample_indices = [int(i) for i in all_indices[:sample_size]]
        else:
            self.sample_indices = list(range(len(data)))

        settings = {
            "version": _STORE_VERSION,
            "method": method,
            "sample_indices_sha": _sha(json.dumps(self.sample_indices)),
            "num_features": self.num_features,
            "top_labels": self.top_labels,
            "n_samples": self.n_samples,
            "random_state": random_state,
            "explainer": explainer.settings(),
            "data_sha": _sha("\n".join(data)),
        }
        done = self._read_store(store, settings) if store is not None else {}
        self.n_resumed = len(done)
        self.explanations = self._explain_all(data, done, store, settings, show_progress)

        num_exps_desired = int(num_exps_desired)
        if num_exps_desired > len(self.explanations):
            warnings.warn(
                f"num_exps_desired={num_exps_desired} is larger than the {len(self.explanations)} "
                "explanations: returning all of them.",
                stacklevel=2,
            )
        self.feature_names, self.W = _explanation_matrix(self.explanations)
        self.V = coverage_pick(self.W, num_exps_desired)
        self.sp_explanations = [self.explanations[i] for i in self.V]
        self.picked_indices = [self.explanations[i].index for i in self.V]

    # -- explanations ------------------------------------------------------------------------
    def _explain_one(self, text: str, index: int) -> SparseExplanation:
        return _explain_sparse(self.explainer, text, index, self._task_settings())

    def _task_settings(self) -> dict[str, Any]:
        return {
            "random_state": self.random_state,
            "top_labels": self.top_labels,
            "n_samples": self.n_samples,
            "num_features": self.num_features,
        }

    def _explain_all(
        self,
        data: list[str],
        done: dict[int, SparseExplanation],
        store: str | os.PathLike[str] | None,
        settings: dict[str, Any],
        show_progress: bool,
    ) -> list[SparseExplanation]:
        todo = [i for i in self.sample_indices if i not in done]
        fh = None
        if store is not None:
            path = Path(store)
            new_file = not path.exists() or path.stat().st_size == 0
            fh = open(path, "a", encoding="utf-8")
            if new_file:
                fh.write(json.dumps({"kind": "header", "settings": settings}) + "\n")
                fh.flush()
        it: Any = todo
        if show_progress:
            from tqdm.auto import tqdm

            it = tqdm(todo, desc="SP-LIME", unit="text", initial=0)

        def keep(exp: SparseExplanation) -> None:
            done[exp.index] = exp
            if fh is not None:
                record = {"kind": "explanation", **asdict(exp)}
                fh.write(json.dumps(record, ensure_ascii=False) + "\n")
                fh.flush()

        try:
            if self.engine is not None:
                self._explain_on_ray(data, todo, keep, it)
            else:
                for i in it:
                    keep(self._explain_one(data[i], i))
        finally:
            if fh is not None:
                fh.close()
            if hasattr(it, "close"):
                it.close()
        return [done[i] for i in self.sample_indices]

    def _explain_on_ray(
        self, data: list[str], todo: list[int], keep: Callable[[SparseExplanation], None], bar: Any
    ) -> None:
        """Explain ``todo`` on the engine's actors in shards of at most :data:`_RAY_SHARD`
        texts; each shard's explanations are kept (and stored) as it arrives."""
        from captum_ext.engines._ray import detach_adapter

        assert self.engine is not None
        blob = detach_adapter(self.explainer, self.explainer.adapter)
        size = max(1, min(_RAY_SHARD, -(-len(todo) // self.engine.n_shards)))
        payloads = [
            {
                "explainer": blob,
                "items": [(i, data[i]) for i in todo[a : a + size]],
                "settings": self._task_settings(),
            }
            for a in range(0, len(todo), size)
        ]

        def on_result(records: list[dict[str, Any]]) -> None:
            for record in records:
                keep(SparseExplanation(**record))
            if hasattr(bar, "update"):
                bar.update(len(records))

        self.engine.map(_pick_shard, payloads, on_result=on_result, adapter=self.explainer.adapter)

    @staticmethod
    def _read_store(
        store: str | os.PathLike[str], settings: dict[str, Any]
    ) -> dict[int, SparseExplanation]:
        path = Path(store)
        if not path.exists() or path.stat().st_size == 0:
            return {}
        done: dict[int, SparseExplanation] = {}
        data = path.read_bytes()
        if not _is_utf8(data):
            raise InputError(
                f"store {path} is not UTF-8 text: the file is corrupt or not a store; delete it "
                "or pass a new --store path."
            )
        lines = data.decode("utf-8").split("\n")
        if lines and not lines[-1]:
            lines.pop()  # the file ends with a newline
        for n, line in enumerate(lines, start=1):
            try:
                obj = json.loads(line)
                if not isinstance(obj, dict):
                    raise ValueError("not a JSON object")
            except ValueError:
                if n == len(lines):  # a line cut by an interruption: recompute that text
                    break
                raise InputError(
                    f"store {path}, line {n}, is not a JSON object: the file is corrupt; delete "
                    "it to start again."
                ) from None
            if n == 1:
                if obj.get("kind") != "header" or obj.get("settings") != settings:
                    raise InputError(
                        f"store {path} was written for other data or settings: pass a new "
                        "--store path, or delete the file to start again."
                    )
                continue
            obj.pop("kind", None)
            try:
                exp = SparseExplanation(**obj)
                done[int(exp.index)] = exp
            except (TypeError, ValueError):
                raise InputError(
                    f"store {path}, line {n}, is not an explanation record: the file is corrupt; "
                    "delete it or pass a new --store path."
                ) from None
        return done


def _explain_sparse(
    explainer: TextLime, text: str, index: int, settings: dict[str, Any]
) -> SparseExplanation:
    """One text's explanation, seeded by ``(random_state, index)``: the same whichever process
    computes it and in whichever order."""
    adapter = explainer.adapter
    encoding = adapter.encode(text)
    seed = None
    if settings["random_state"] is not None:
        seed = int(
            np.random.SeedSequence([int(settings["random_state"]), index]).generate_state(1)[0]
        )
    labels: list[int | None] = [None]
    if settings["top_labels"] > 1:
        probs = adapter.predict_ids([encoding.input_ids])[0]
        labels = [int(i) for i in np.argsort(-probs)[: settings["top_labels"]]]
    per_label: list[dict[str, Any]] = []
    for label in labels:
        result, _ = explainer.explain_encoding(
            encoding, label, n_samples=settings["n_samples"], random_state=seed
        )
        features = [[n, w] for n, w in result.ranked_features() if w != 0.0]
        per_label.append(
            {
                "label": int(result.target),
                "features": features[: settings["num_features"]],
                "intercept": float(result.intercept),
                "score": float(result.score),
                "local_pred": float(result.local_pred),
                "model_pred": float(result.model_pred),
            }
        )
    return SparseExplanation(index=index, text=text, **per_label[0], other_labels=per_label[1:])


def _pick_shard(worker: Any, payload: dict[str, Any]) -> list[dict[str, Any]]:
    """A Ray task: the explanations of one shard of texts on the worker's adapter (the
    explainer is unpickled onto that adapter once per actor)."""
    from captum_ext.engines._ray import attach_adapter

    key = ("sp-lime", hashlib.sha256(payload["explainer"]).hexdigest())
    explainer = worker.memo.get(key)
    if explainer is None:
        explainer = attach_adapter(payload["explainer"], worker.adapter)
        worker.memo[key] = explainer
    return [
        asdict(_explain_sparse(explainer, text, index, payload["settings"]))
        for index, text in payload["items"]
    ]


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _explanation_matrix(
    explanations: list[SparseExplanation],
) -> tuple[list[str], sparse.csr_matrix]:
    """Rows = texts (labels of one text added up), columns = feature names, as official."""
    columns: dict[str, int] = {}
    r, c, v = [], [], []
    for row, e in enumerate(explanations):
        for name, weight in e.all_features():
            r.append(row)
            c.append(columns.setdefault(str(name), len(columns)))
            v.append(float(weight))
    W = sparse.csr_matrix((v, (r, c)), shape=(len(explanations), len(columns)))  # sums repeats
    return list(columns), W


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
