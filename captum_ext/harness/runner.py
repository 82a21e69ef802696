"""Run every method on every text, then score faithfulness, appending each result to the store.

The loop is resumable: before computing anything it reads the store and skips every key already
there, so a run that was interrupted (Ctrl-C, a crash, a killed process) continues where it stopped
and ends with exactly the records an uninterrupted run writes.

The texts are processed in chunks: fixed slices of ``chunk_size`` texts. For a chunk, every
method runs on its texts (``explain_many``: methods that batch across texts do so; a stochastic
method also with the extra seeds), then faithfulness is scored, and all the chunk's records
are written in one ``write``: a chunk is saved whole or not at all, so a resumed run recomputes
whole chunks, batched exactly as before, and gets bit-identical numbers (batching texts
differently could change the last digits of a batched matrix product). Within a chunk the methods
share the model's predictions (:func:`shared_predictions`): a perturbed text that one method
already had scored (the LIME variants draw the same neighbourhood) is not scored again.

Faithfulness (:mod:`captum_ext.metrics.faithfulness`): the perturbed inputs of every method, of the
random-ranking baseline and of leave-one-out are built with the one masking operator
(:func:`~captum_ext.metrics.faithfulness.delete_words`: the word-pieces of the removed words are
deleted from the token ids) and evaluated by ``adapter.predict_ids`` in one batch (identical rows
are evaluated once).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import os
import time
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from captum_ext.adapters.hf import Output, TextClassifierAdapter, validate_text
from captum_ext.errors import InputError
from captum_ext.harness.store import ResultStore
from captum_ext.methods import get_method, list_methods, make_explainer
from captum_ext.metrics.agreement import kendall_tau_b, spearman_rho
from captum_ext.metrics.faithfulness import (
    ERASER_BINS,
    faithfulness_rows,
    faithfulness_scores,
    leave_one_out_rows,
    random_rankings,
    seen_words,
)
from captum_ext.result import WordAttribution

__all__ = [
    "MASKING_OPERATOR",
    "RunConfig",
    "default_text_ids",
    "model_fingerprint",
    "run_compare",
    "shared_predictions",
]

logger = logging.getLogger("captum_ext.harness")

#: How every method's words are removed for faithfulness (stated in every report).
MASKING_OPERATOR = (
    "deletion: the word-pieces of the removed words are deleted from the token ids ([CLS] and "
    "[SEP] kept, the other words in order, no [MASK]/[PAD] put in their place) and the shorter "
    "rows are scored by adapter.predict_ids in batches; the same operator for every method, the "
    "random-ranking baseline and leave-one-out"
)

MANIFEST = "run.json"
RECORDS = "records.jsonl"


@dataclass
class RunConfig:
    """Settings of a comparison run (stored in ``run.json``; a resumed run must match them).

    Attributes:
        methods: registry names, in run order.
        method_settings: per method, settings that override the registry defaults (budgets).
        random_state: seed of stochastic methods and of the random baseline.
        stability_seeds: extra seeds for stochastic methods (agreement of a method with itself).
        stability_texts: how many texts (the first ones) the extra seeds run on.
        faithfulness: whether to score faithfulness.
        bins: ERASER bins (fractions of the words).
        n_random: random rankings per text for the random baseline.
        max_steps: most points of a deletion curve.
        chunk_size: texts per ``explain_many`` call and per faithfulness batch.
    """

    methods: list[str]
    method_settings: dict[str, dict[str, Any]] = field(default_factory=dict)
    random_state: int = 0
    stability_seeds: list[int] = field(default_factory=lambda: [1, 2])
    stability_texts: int = 20
    faithfulness: bool = True
    bins: list[float] = field(default_factory=lambda: list(ERASER_BINS))
    n_random: int = 5
    max_steps: int = 20
    chunk_size: int = 8

    def to_dict(self) -> dict[str, Any]:
        return {
            "methods": list(self.methods),
            "method_settings": {m: dict(self.method_settings.get(m, {})) for m in self.methods},
            "random_state": self.random_state,
            "stability_seeds": list(self.stability_seeds),
            "stability_texts": self.stability_texts,
            "faithfulness": self.faithfulness,
            "bins": list(self.bins),
            "n_random": self.n_random,
            "max_steps": self.max_steps,
            "chunk_size": self.chunk_size,
        }


def default_text_ids(n: int) -> list[str]:
    """Ids of ``n`` texts: their positions, zero-padded (``"0000"``, ``"0001"``, ...).

    Examples::

        >>> default_text_ids(3)
        ['0000', '0001', '0002']
    """
    width = max(4, len(str(max(0, n - 1))))
    return [str(i).zfill(width) for i in range(n)]


def model_fingerprint(adapter: TextClassifierAdapter) -> str:
    """16 hex characters that change when the model's weights change (cheap: sums per tensor).

    Examples::

        >>> from captum_ext.adapters import TextClassifierAdapter
        >>> from captum_ext.harness.runner import model_fingerprint
        >>> adapter = TextClassifierAdapter.from_pretrained()  # doctest: +SKIP
        >>> len(model_fingerprint(adapter))  # doctest: +SKIP
        16
    """
    import torch

    h = hashlib.sha256()
    with torch.no_grad():
        for name, p in adapter.model.named_parameters():
            t = p.detach().double()
            h.update(name.encode())
            h.update(np.array([t.sum().item(), t.abs().sum().item()]).tobytes())
    return h.hexdigest()[:16]


def _text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _json_safe(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def _check_manifest(
    out_dir: Path,
    texts: Sequence[str],
    text_ids: Sequence[str],
    config: RunConfig,
    model: str,
    fingerprint: str,
    rationales: Sequence[Any] | None = None,
) -> None:
    """Write ``run.json``, or check that an existing one describes the same run."""
    manifest_path = out_dir / MANIFEST
    text_rows: list[dict[str, Any]] = [
        {"id": i, "sha256_16": _text_hash(t), "text": t}
        for i, t in zip(text_ids, texts, strict=True)
    ]
    if rationales is not None:
        for row, spans in zip(text_rows, rationales, strict=True):
            if spans:
                row["rationale_spans"] = [[int(a), int(b)] for a, b in spans]
    new = {
        "version": 1,
        "model": model,
        "model_fingerprint": fingerprint,
        "texts": text_rows,
        **_json_safe(config.to_dict()),
    }
    if manifest_path.exists():
        try:
            old = json.loads(manifest_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InputError(
                f"{manifest_path} is unreadable ({exc}): delete it and {RECORDS}, or use another "
                "--out directory."
            ) from None
        old_texts = {r["id"]: r["sha256_16"] for r in old.get("texts", [])}
        for r in text_rows:
            if r["id"] in old_texts and old_texts[r["id"]] != r["sha256_16"]:
                raise InputError(
                    f"--out {out_dir} holds a run whose text {r['id']} differs from this one: "
                    "resume with the same texts (same --data, --n and --seed), or use another --out."
                )
        if old.get("model_fingerprint", fingerprint) != fingerprint:
            raise InputError(
                f"--out {out_dir} holds results of another model (its weights differ from this "
                "one's, e.g. the default model was fine-tuned again): use another --out."
            )
        for key in ("random_state", "bins", "n_random", "max_steps", "model"):
            if key in old and old[key] != new[key]:
                raise InputError(
                    f"--out {out_dir} holds a run with {key}={old[key]!r}, this one has "
                    f"{new[key]!r}: resume with the same settings, or use another --out."
                )
        old_settings = old.get("method_settings", {})
        for m in config.methods:
            if m in old_settings and old_settings[m] != new["method_settings"].get(m, {}):
                raise InputError(
                    f"--out {out_dir} holds results of method {m} with settings "
                    f"{old_settings[m]}, this run asks for {new['method_settings'].get(m, {})}: "
                    "use another --out to compare other budgets."
                )
        # keep every text and method ever run in this directory
        merged_texts = {r["id"]: r for r in old.get("texts", [])}
        merged_texts.update({r["id"]: r for r in text_rows})
        new["texts"] = list(merged_texts.values())
        new["methods"] = list(dict.fromkeys([*old.get("methods", []), *new["methods"]]))
        new["method_settings"] = {**old_settings, **new["method_settings"]}
    tmp = manifest_path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(new, ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(tmp, manifest_path)


class _Progress:
    """One bar over texts x methods (plus extra seeds), or nothing."""

    def __init__(self, total: int, done: int, show: bool) -> None:
        self.bar = None
        if show and total:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, initial=done, desc="compare", unit="expl")

    def step(self, n: int, method: str, text_id: str) -> None:
        if self.bar is not None:
            self.bar.set_postfix_str(f"{method} · text {text_id}", refresh=False)
            self.bar.update(n)

    def describe(self, desc: str) -> None:
        if self.bar is not None:
            self.bar.set_description(desc)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _explain_chunk(
    explainer: Any,
    texts: list[str],
    targets: list[int],
    seed: int,
) -> list[tuple[WordAttribution | None, str | None, float, int]]:
    """Explain a chunk with ``explain_many``; if that fails, text by text to isolate the failure."""
    start = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            results = explainer.explain_many(texts, targets=targets, random_state=seed)
        per_text = (time.perf_counter() - start) / len(texts)
        if len(results) != len(texts):
            raise RuntimeError(
                f"explain_many returned {len(results)} results for {len(texts)} texts"
            )
        return [(wa, None, per_text, len(texts)) for wa in results]
    except Exception as exc:  # a bad text in the chunk: find it
        if len(texts) == 1:
            return [(None, f"{type(exc).__name__}: {exc}", time.perf_counter() - start, 1)]
    out: list[tuple[WordAttribution | None, str | None, float, int]] = []
    for text, target in zip(texts, targets, strict=True):
        out.extend(_explain_chunk(explainer, [text], [target], seed))
    return out


def _importance(wa: WordAttribution) -> np.ndarray:
    return wa.scores if wa.signed else np.abs(wa.scores)


def run_compare(
    texts: Sequence[str],
    adapter: TextClassifierAdapter,
    *,
    out_dir: str | os.PathLike[str] | None = None,
    store: ResultStore | None = None,
    text_ids: Sequence[str] | None = None,
    targets: Sequence[int | str | None] | None = None,
    config: RunConfig | None = None,
    model_name: str = "",
    rationales: Sequence[Any] | None = None,
    show_progress: bool = True,
) -> ResultStore:
    """Run the methods of ``config`` on ``texts`` and score their faithfulness, resumably.

    Args:
        texts (sequence of str): the texts to explain.
        adapter (TextClassifierAdapter): the model.
        out_dir (str or Path, optional): run directory (``run.json``, ``records.jsonl``);
            results already there are kept and not computed again. Default: None (in memory)
        store (ResultStore, optional): a store to use instead of ``out_dir``. Default: None
        text_ids (sequence of str, optional): one id per text. Default: ``"0000"``, ``"0001"``, ...
        targets (sequence, optional): class (index or label) to explain per text.
            Default: the predicted class of each text (the same for every method).
        config (RunConfig, optional): methods, budgets and seeds. Default: every registered
            method at its default budget.
        model_name (str, optional): the model's directory, recorded in ``run.json``. Default: ""
        rationales (sequence, optional): per text, human rationale character spans, recorded in
            ``run.json`` for the plausibility table. Default: None
        show_progress (bool, optional): a tqdm bar over texts x methods. Default: True

    Returns:
        ResultStore: every record of the run directory (old and new).

    Examples::

        >>> from captum_ext.adapters import TextClassifierAdapter
        >>> from captum_ext.harness.runner import run_compare, RunConfig
        >>> adapter = TextClassifierAdapter.from_pretrained()  # doctest: +SKIP
        >>> store = run_compare(["not bad at all"], adapter,  # doctest: +SKIP
        ...                     config=RunConfig(methods=["ig"]), show_progress=False)
        >>> [r["method"] for r in store.records("faithfulness")]  # doctest: +SKIP
        ['random', 'ig']
    """
    texts = [validate_text(t, f"texts[{i}]") for i, t in enumerate(texts)]
    if not texts:
        raise InputError("texts is empty: give at least one text to compare methods on.")
    if config is None:
        config = RunConfig(methods=[m.name for m in list_methods()])
    if not config.methods:
        raise InputError("methods is empty: name at least one method (see `captum-ext methods`).")
    specs = {m: get_method(m) for m in config.methods}  # unknown names fail here, before work
    for m in config.method_settings:
        get_method(m)  # a misspelt name in the settings is an error too
    # settings of methods not run are ignored (one settings dict can serve several runs)
    config = dataclasses.replace(
        config,
        method_settings={m: dict(v) for m, v in config.method_settings.items() if m in specs},
    )
    if config.chunk_size < 1:
        raise InputError(f"chunk_size must be >= 1, got {config.chunk_size}.")
    if text_ids is None:
        text_ids = default_text_ids(len(texts))
    text_ids = [str(t) for t in text_ids]
    if len(text_ids) != len(texts) or len(set(text_ids)) != len(text_ids):
        raise InputError("text_ids must give one distinct id per text.")

    if store is None:
        if out_dir is not None:
            out = Path(out_dir)
            out.mkdir(parents=True, exist_ok=True)
            _check_manifest(
                out, texts, text_ids, config, model_name, model_fingerprint(adapter), rationales
            )
            store = ResultStore(out / RECORDS)
        else:
            store = ResultStore()

    probs = adapter.predict_proba(texts)
    if targets is None:
        target_idx = [int(np.argmax(p)) for p in probs]
    else:
        if len(targets) != len(texts):
            raise InputError(
                f"targets must give one class per text: got {len(targets)} for {len(texts)}."
            )
        target_idx = [adapter.resolve_target(t, p) for t, p in zip(targets, probs, strict=True)]

    seed0 = config.random_state
    n_stab = min(config.stability_texts, len(texts))
    extra_seeds = [int(x) for x in dict.fromkeys(config.stability_seeds) if int(x) != seed0]

    def seeds_of(method: str, i: int) -> list[int]:
        if specs[method].stochastic and i < n_stab:
            return [seed0, *extra_seeds]
        return [seed0]

    total = sum(len(seeds_of(m, i)) for i in range(len(texts)) for m in config.methods)
    done = sum(
        1
        for i in range(len(texts))
        for m in config.methods
        for sd in seeds_of(m, i)
        if ("attribution", text_ids[i], m, sd) in store
    )
    progress = _Progress(total, done, show_progress)
    explainers: dict[str, Any] = {}
    try:
        # Chunks are fixed slices of the texts, whatever is already done, and a chunk's records
        # are written in one write: a resumed run computes whole chunks, batched exactly as an
        # uninterrupted run (same batches, same floating point).
        for start in range(0, len(texts), config.chunk_size):
            chunk = list(range(start, min(start + config.chunk_size, len(texts))))
            jobs = [
                (m, sd, todo)
                for m in config.methods
                for sd in [seed0, *extra_seeds]
                if (
                    todo := [
                        i
                        for i in chunk
                        if sd in seeds_of(m, i) and ("attribution", text_ids[i], m, sd) not in store
                    ]
                )
            ]
            if not jobs and not (
                config.faithfulness
                and any(_pending_faithfulness(store, text_ids[i], config, []) for i in chunk)
            ):
                continue
            records: list[dict[str, Any]] = []
            with shared_predictions(adapter):
                for method, seed, todo in jobs:
                    if method not in explainers:
                        explainers[method] = make_explainer(
                            method, adapter, **config.method_settings.get(method, {})
                        )
                    progress.describe(f"{method} (seed {seed})" if seed != seed0 else method)
                    results = _explain_chunk(
                        explainers[method],
                        [texts[i] for i in todo],
                        [target_idx[i] for i in todo],
                        seed,
                    )
                    for i, (wa, error, seconds, batch) in zip(todo, results, strict=True):
                        base = {"text_id": text_ids[i], "method": method, "seed": seed}
                        if wa is None:
                            logger.warning("%s failed on text %s: %s", method, text_ids[i], error)
                            records.append(
                                {"kind": "error", **base, "seconds": seconds, "error": error}
                            )
                        else:
                            records.append(
                                {
                                    "kind": "attribution",
                                    **base,
                                    "seconds": seconds,
                                    "batch": batch,
                                    "precision": wa.settings.get("precision"),
                                    "result": wa.to_dict(),
                                }
                            )
                    progress.step(len(todo), method, text_ids[todo[-1]])
                if config.faithfulness:
                    progress.describe("faithfulness")
                    records += _score_chunk(
                        adapter, chunk, texts, text_ids, target_idx, config, store, records
                    )
            store.extend(records)  # one write: a chunk is saved whole or not at all
    finally:
        progress.close()
    return store


@contextlib.contextmanager
def shared_predictions(adapter: TextClassifierAdapter) -> Iterator[dict[str, int]]:
    """Within the block, a token-id row the model already scored is not scored again.

    Methods are run one after the other on the same chunk of texts, and several of them perturb
    a text in the same way (the LIME variants with the same seed draw the same neighbourhood):
    ``adapter.predict_ids`` (which ``predict_proba`` calls) is wrapped with a memo of the rows
    evaluated in the block, keyed by the row and the output kind. The values are those the
    adapter computed the first time. Yields counters ``{"requested", "evaluated"}``.

    Examples::

        >>> from captum_ext.adapters import TextClassifierAdapter
        >>> from captum_ext.harness.runner import shared_predictions
        >>> adapter = TextClassifierAdapter.from_pretrained()  # doctest: +SKIP
        >>> with shared_predictions(adapter) as counts:  # doctest: +SKIP
        ...     _ = adapter.predict_ids([[101, 2204, 102]]); _ = adapter.predict_ids([[101, 2204, 102]])
        >>> counts  # doctest: +SKIP
        {'requested': 2, 'evaluated': 1}
    """
    original = adapter.predict_ids
    memo: dict[tuple[str, tuple[int, ...]], np.ndarray] = {}
    counts = {"requested": 0, "evaluated": 0}

    def predict_ids(
        rows: Sequence[Sequence[int]], *, output: Output = "probs", show_progress: bool = False
    ) -> np.ndarray:
        keys = [(f"{output}@{adapter.precision}", tuple(int(t) for t in r)) for r in rows]
        new = list(dict.fromkeys(k for k in keys if k not in memo))
        counts["requested"] += len(keys)
        if new:
            values = original([list(k[1]) for k in new], output=output, show_progress=show_progress)
            memo.update(zip(new, values, strict=True))
            counts["evaluated"] += len(new)
        if not keys:
            return original(rows, output=output, show_progress=show_progress)
        return np.stack([memo[k] for k in keys])

    adapter.predict_ids = predict_ids  # type: ignore[method-assign]
    try:
        yield counts
    finally:
        del adapter.predict_ids  # back to the class's method


class _RowBatch:
    """Token-id rows of many perturbations, evaluated together, then read back by slot."""

    def __init__(self) -> None:
        self.rows: list[list[int]] = []
        self.spans: list[tuple[int, int]] = []
        self.probs: np.ndarray | None = None

    def add(self, rows: list[list[int]]) -> int:
        self.spans.append((len(self.rows), len(self.rows) + len(rows)))
        self.rows.extend(rows)
        return len(self.spans) - 1

    def evaluate(self, adapter: TextClassifierAdapter) -> None:
        self.probs = adapter.predict_ids(self.rows)

    def values(self, slot: int, target: int) -> np.ndarray:
        assert self.probs is not None
        a, b = self.spans[slot]
        return self.probs[a:b, target]


def _random_seed(random_state: int, text_id: str) -> int:
    """The random baseline's seed for one text: fixed by the run's seed and the text id."""
    digest = hashlib.sha256(f"{random_state}:{text_id}".encode()).digest()
    return int.from_bytes(digest[:4], "little")


def _pending_faithfulness(
    store: ResultStore, tid: str, config: RunConfig, new_records: list[dict[str, Any]]
) -> list[str]:
    """What faithfulness still needs for one text: ``"random"`` and the methods with an
    attribution (in the store or among ``new_records``; not an error) but no score yet."""
    seed0 = config.random_state
    have = {
        r["method"]
        for r in [*store.records("attribution"), *new_records]
        if r["kind"] == "attribution" and r["text_id"] == tid and r["seed"] == seed0
    }
    todo = [m for m in config.methods if m in have and ("faithfulness", tid, m, seed0) not in store]
    if ("faithfulness", tid, "random", seed0) not in store:
        todo.insert(0, "random")
    return todo


def _score_chunk(
    adapter: TextClassifierAdapter,
    chunk: list[int],
    texts: list[str],
    text_ids: list[str],
    targets: list[int],
    config: RunConfig,
    store: ResultStore,
    new_records: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    """Build every perturbed row of a chunk of texts, evaluate them in one call, and return the
    ``reference`` and ``faithfulness`` records."""
    seed0 = config.random_state
    chunk_ids = {text_ids[i] for i in chunk}
    attributions = {
        (r["text_id"], r["method"]): r
        for r in [*store.records("attribution"), *new_records]
        if r["kind"] == "attribution" and r["seed"] == seed0 and r["text_id"] in chunk_ids
    }
    references = {r["text_id"]: r for r in store.records("reference") if r["text_id"] in chunk_ids}
    start = time.perf_counter()
    batch = _RowBatch()
    plans: list[tuple[int, dict[str, Any], list[tuple[str, Any]]]] = []
    for i in chunk:
        tid = text_ids[i]
        enc = adapter.encode(texts[i])
        ids, t2w = enc.input_ids, enc.token_to_word
        if not seen_words(t2w):
            continue
        text_plan: dict[str, Any] = {"full": batch.add([list(ids)]), "n_words": len(enc.words)}
        if tid not in references:
            text_plan["loo_words"], loo_rows = leave_one_out_rows(ids, t2w)
            text_plan["loo"] = batch.add(loo_rows)
        items: list[tuple[str, Any]] = []
        for m in _pending_faithfulness(store, tid, config, new_records):
            if m == "random":
                perms = random_rankings(
                    len(enc.words), config.n_random, _random_seed(config.random_state, tid)
                )
                prs = [
                    faithfulness_rows(ids, t2w, p, bins=config.bins, max_steps=config.max_steps)
                    for p in perms
                ]
                items.append((m, [(pr, batch.add(pr.all_rows())) for pr in prs]))
            else:
                wa = WordAttribution.from_dict(attributions[(tid, m)]["result"])
                pr = faithfulness_rows(
                    ids, t2w, wa.ranking(), bins=config.bins, max_steps=config.max_steps
                )
                items.append((m, (wa, pr, batch.add(pr.all_rows()))))
        plans.append((i, text_plan, items))
    if not batch.rows:
        return []
    batch.evaluate(adapter)
    seconds = (time.perf_counter() - start) / max(1, sum(len(items) for _, _, items in plans))
    out: list[dict[str, Any]] = []
    for i, text_plan, items in plans:
        tid, target = text_ids[i], targets[i]
        p_full = float(batch.values(text_plan["full"], target)[0])
        if "loo" in text_plan:
            loo: list[float | None] = [None] * text_plan["n_words"]
            for w, p in zip(
                text_plan["loo_words"], batch.values(text_plan["loo"], target), strict=True
            ):
                loo[w] = p_full - float(p)
            ref = {
                "kind": "reference",
                "text_id": tid,
                "method": "",
                "seed": None,
                "target": target,
                "p_full": p_full,
                "loo": loo,
                "seen_words": text_plan["loo_words"],
            }
            out.append(ref)
            references[tid] = ref
        for m, plan in items:
            if m == "random":
                per = [
                    faithfulness_scores(p_full, pr, batch.values(slot, target)) for pr, slot in plan
                ]
                metrics = _mean_metrics(per)
                metrics["loo_spearman"] = metrics["loo_kendall"] = float("nan")
            else:
                wa, pr, slot = plan
                metrics = faithfulness_scores(p_full, pr, batch.values(slot, target))
                metrics.update(_loo_correlations(wa, references[tid]))
            out.append(
                {
                    "kind": "faithfulness",
                    "text_id": tid,
                    "method": m,
                    "seed": config.random_state,
                    "target": target,
                    "p_full": p_full,
                    "seconds": seconds,
                    "metrics": metrics,
                }
            )
    return out


def _mean_metrics(per: list[dict[str, Any]]) -> dict[str, Any]:
    """Average the random baseline over its permutations (curves have the same k for one text)."""
    out: dict[str, Any] = {"n_rankings": len(per)}
    for key in ("comprehensiveness", "sufficiency", "deletion_auc"):
        out[key] = float(np.mean([p[key] for p in per]))
    for key in ("comprehensiveness_bins", "sufficiency_bins", "deletion_curve"):
        out[key] = np.mean([p[key] for p in per], axis=0).tolist()
    for key in ("deletion_ks", "ks", "n_words"):
        out[key] = per[0][key]
    return out


def _loo_correlations(wa: WordAttribution, ref: dict[str, Any]) -> dict[str, float]:
    """Spearman and Kendall of the method's scores with leave-one-out, over the seen words.

    Signed methods are compared with the signed leave-one-out effect, unsigned ones (magnitudes)
    with its absolute value.
    """
    words = ref["seen_words"]
    loo = np.array([ref["loo"][w] for w in words], dtype=np.float64)
    mine = _importance(wa)[words]
    if not wa.signed:
        loo = np.abs(loo)
    if len(words) < 2 or not np.all(np.isfinite(mine)):
        return {"loo_spearman": float("nan"), "loo_kendall": float("nan")}
    return {"loo_spearman": spearman_rho(mine, loo), "loo_kendall": kendall_tau_b(mine, loo)}
