"""Run every method on every text, then score every registered metric, appending each result to
the store.

The loop is resumable: before computing anything it reads the store and skips every key already
there, so a run that was interrupted (Ctrl-C, a crash, a killed process) continues where it stopped
and ends with exactly the records an uninterrupted run writes.

The texts are processed in chunks: fixed slices of ``chunk_size`` texts. For a chunk, every
method runs on its texts (``explain_many``: methods that batch across texts do so; a stochastic
method also with the extra seeds), then the metrics are scored, and all the chunk's records
are written in one ``write``: a chunk is saved whole or not at all, so a resumed run recomputes
whole chunks, batched exactly as before, and gets bit-identical numbers (batching texts
differently could change the last digits of a batched matrix product). Within a chunk the methods
share the model's predictions (:func:`shared_predictions`): a perturbed text that one method
already had scored (the LIME variants draw the same neighbourhood) is not scored again.

Metrics come from the registry (:mod:`captum_ext.metrics.protocol`), by stage:

* row metrics (faithfulness): the perturbed token-id rows of every row metric, every method and
  the random-ranking baseline of a chunk are built with the one masking operator
  (:func:`~captum_ext.metrics.faithfulness.delete_words`: the word-pieces of the removed words are
  deleted from the token ids) and evaluated by ``adapter.predict_ids`` in one call (identical rows
  are evaluated once); one ``metrics`` record per text and method;
* variant metrics (randomisation, random logit, robustness), on the first ``sanity_texts``
  texts: the variants they declare are explained grouped by model (the trained one, then each
  randomisation level, in place and restored after); one ``variants`` record per text and method;
* record metrics (stability, cost) need nothing at run time: the summary computes them.
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
from captum_ext.harness.store import (
    AttributionRecord,
    ErrorRecord,
    MetricsRecord,
    Record,
    ResultStore,
    VariantsRecord,
)
from captum_ext.methods import get_method, list_methods, make_explainer
from captum_ext.metrics.builtin.randomisation import DEFAULT_LEVELS
from captum_ext.metrics.faithfulness import ERASER_BINS, complete_order, random_rankings, seen_words
from captum_ext.metrics.protocol import (
    RowContext,
    RowMetric,
    Variant,
    VariantMetric,
    get_metric,
    list_metrics,
)
from captum_ext.metrics.randomise import encoder_layers, randomisation_levels, randomised
from captum_ext.result import WordAttribution
from captum_ext.validation import check_scalar

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
#: Version of run.json's layout: 2 added the metric registry (``metrics`` and ``variants``
#: records replace version 1's ``faithfulness`` and ``reference`` records).
MANIFEST_VERSION = 2
RECORDS = "records.jsonl"


@dataclass
class RunConfig:
    """Settings of a comparison run (stored in ``run.json``; a resumed run must match them).

    Attributes:
        methods: registry names, in run order.
        method_settings: per method, settings that override the registry defaults (budgets).
        random_state: seed of stochastic methods, of the random baseline and of the metrics.
        stability_seeds: extra seeds for stochastic methods (agreement of a method with itself).
        stability_texts: how many texts (the first ones) the extra seeds run on.
        faithfulness: whether to score the row metrics (faithfulness family).
        bins: ERASER bins (fractions of the words).
        n_random: random rankings per text for the random baseline.
        max_steps: most points of a deletion or insertion curve.
        n_soft: random draws per text of the soft comprehensiveness/sufficiency metrics.
        sanity_texts: how many texts (the first ones) the variant metrics (randomisation, random
            logit, robustness) run on; 0 skips them.
        randomisation_levels: the cascade of the randomisation check
            (:mod:`captum_ext.metrics.randomise`).
        metrics: registered metric names to compute (default: every registered metric).
        chunk_size: texts per ``explain_many`` call and per scoring batch.
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
    n_soft: int = 10
    sanity_texts: int = 20
    randomisation_levels: list[str] = field(default_factory=lambda: list(DEFAULT_LEVELS))
    metrics: list[str] | None = None
    chunk_size: int = 8

    def metric_names(self) -> list[str]:
        """The metrics this run computes, registry order."""
        if self.metrics is None:
            return [m.name for m in list_metrics()]
        if not self.metrics:
            raise InputError(
                "metrics is empty: name at least one registered metric, or pass None for all."
            )
        wanted = {get_metric(m).name for m in self.metrics}  # unknown names fail here
        return [m.name for m in list_metrics() if m.name in wanted]

    def extra_seeds(self) -> list[int]:
        """The stability seeds other than the main one, each once, in order."""
        return [int(x) for x in dict.fromkeys(self.stability_seeds) if int(x) != self.random_state]

    def metric_settings(self) -> dict[str, Any]:
        """What the metrics read from the run's settings (:attr:`RowContext.settings`)."""
        return {
            "bins": list(self.bins),
            "max_steps": self.max_steps,
            "n_soft": self.n_soft,
            "randomisation_levels": list(self.randomisation_levels),
        }

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
            "n_soft": self.n_soft,
            "sanity_texts": self.sanity_texts,
            "randomisation_levels": list(self.randomisation_levels),
            "metrics": self.metric_names(),
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
        "version": MANIFEST_VERSION,
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
        if old.get("version") != MANIFEST_VERSION:
            raise InputError(
                f"--out {out_dir} holds a run made by an older captum-ext (manifest version "
                f"{old.get('version')!r}, this one writes {MANIFEST_VERSION}): use another --out."
            )
        for key in (
            "random_state",
            "bins",
            "n_random",
            "max_steps",
            "n_soft",
            "randomisation_levels",
            "model",
        ):
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
        >>> [r.method for r in store.records("metrics")]  # doctest: +SKIP
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
    check_scalar(config.chunk_size, "chunk_size", min_val=1)
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
    variant_metrics = config.sanity_texts > 0 and any(
        isinstance(get_metric(n), VariantMetric) for n in config.metric_names()
    )
    if variant_metrics:  # a bad level or a model without layers fails here, before any work
        randomisation_levels(config.randomisation_levels, len(encoder_layers(adapter.model)))
    extra_seeds = config.extra_seeds()

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
            stored = _attributions_of(store, [], {text_ids[i] for i in chunk}, seed0)
            if (
                not jobs
                and not (
                    config.faithfulness
                    and any(_pending_metrics(store, text_ids[i], config, stored) for i in chunk)
                )
                and not (
                    variant_metrics
                    and _variant_jobs(
                        chunk, texts, text_ids, target_idx, probs, config, store, stored
                    )
                )
            ):
                continue
            records: list[Record] = []
            trained_rows: dict[tuple[str, tuple[int, ...]], np.ndarray] = {}
            with shared_predictions(adapter, trained_rows) as counts:
                for method, seed, todo in jobs:
                    if method not in explainers:
                        explainers[method] = make_explainer(
                            method, adapter, **config.method_settings.get(method, {})
                        )
                    progress.describe(f"{method} (seed {seed})" if seed != seed0 else method)
                    before = dict(counts)
                    results = _explain_chunk(
                        explainers[method],
                        [texts[i] for i in todo],
                        [target_idx[i] for i in todo],
                        seed,
                    )
                    reused = _reused_share(before, counts, len(todo))
                    for i, (wa, error, seconds, batch) in zip(todo, results, strict=True):
                        if wa is None:
                            logger.warning("%s failed on text %s: %s", method, text_ids[i], error)
                            records.append(
                                ErrorRecord(
                                    text_id=text_ids[i],
                                    method=method,
                                    seed=seed,
                                    seconds=seconds,
                                    error=str(error),
                                )
                            )
                        else:
                            records.append(
                                AttributionRecord(
                                    text_id=text_ids[i],
                                    method=method,
                                    seed=seed,
                                    seconds=seconds,
                                    batch=batch,
                                    precision=wa.settings.get("precision"),
                                    reused=reused,
                                    result=wa.to_dict(),
                                )
                            )
                    progress.step(len(todo), method, text_ids[todo[-1]])
                if config.faithfulness:
                    progress.describe("faithfulness")
                    records += _score_chunk(
                        adapter, chunk, texts, text_ids, target_idx, config, store, records
                    )
            if variant_metrics:
                for method in config.methods:
                    if method not in explainers:
                        explainers[method] = make_explainer(
                            method, adapter, **config.method_settings.get(method, {})
                        )
                records += _variant_chunk(
                    adapter,
                    explainers,
                    chunk,
                    texts,
                    text_ids,
                    target_idx,
                    probs,
                    config,
                    store,
                    records,
                    progress,
                    trained_rows,
                )
            store.extend(records)  # one write: a chunk is saved whole or not at all
    finally:
        progress.close()
    return store


@contextlib.contextmanager
def shared_predictions(
    adapter: TextClassifierAdapter,
    memo: dict[tuple[str, tuple[int, ...]], np.ndarray] | None = None,
) -> Iterator[dict[str, int]]:
    """Within the block, a token-id row the model already scored is not scored again.

    Methods are run one after the other on the same chunk of texts, and several of them perturb
    a text in the same way (the LIME variants with the same seed draw the same neighbourhood):
    ``adapter.predict_ids`` (which ``predict_proba`` calls) is wrapped with a memo of the rows
    evaluated in the block, keyed by the row and the output kind. The values are those the
    adapter computed the first time. Yields counters ``{"requested", "evaluated"}``.

    ``memo`` (optional) is the memo to use and fill, so that a later block on **the same model
    weights** reuses an earlier block's rows (the random-logit variant re-explains a text for
    another class with the same seed: a perturbation method draws the same rows). The memo is
    keyed by row and precision, not by weights: never pass one across a weight change.

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
    if memo is None:
        memo = {}
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


def _reused_share(before: dict[str, int], after: dict[str, int], n_texts: int) -> float | None:
    """The share of the rows asked for between two readings of :func:`shared_predictions`'
    counters that were already scored, rounded to 4 places; ``None`` when no more than one row
    per text was asked for (every method scores the text itself first: a gradient or attention
    method asks for nothing else)."""
    asked = after["requested"] - before["requested"]
    if asked <= n_texts:
        return None
    return round(1.0 - (after["evaluated"] - before["evaluated"]) / asked, 4)


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


def _attributions_of(
    store: ResultStore, new_records: list[Record], ids: set[str], seed: int
) -> dict[tuple[str, str], AttributionRecord]:
    """``{(text_id, method): attribution record}`` at ``seed`` for the texts ``ids``."""
    return {
        (r.text_id, r.method): r
        for r in [*store.records("attribution"), *new_records]
        if isinstance(r, AttributionRecord) and r.seed == seed and r.text_id in ids
    }


def _pending_metrics(
    store: ResultStore,
    tid: str,
    config: RunConfig,
    attributions: dict[tuple[str, str], AttributionRecord],
) -> list[str]:
    """What the row metrics still need for one text: ``"random"`` and the methods with an
    attribution (``attributions``, from :func:`_attributions_of`; not an error) but no score
    yet."""
    seed0 = config.random_state
    have = {m for (t, m) in attributions if t == tid}
    todo = [m for m in config.methods if m in have and ("metrics", tid, m, seed0) not in store]
    if ("metrics", tid, "random", seed0) not in store:
        todo.insert(0, "random")
    return todo


def _metric_seed(random_state: int, text_id: str, method: str) -> int:
    """The seed of stochastic metrics for one text and method: fixed by the run's seed."""
    return _random_seed(random_state, f"{text_id}:{method}")


def _row_contexts(
    ids: Sequence[int],
    t2w: Sequence[int | None],
    method: str,
    wa: WordAttribution | None,
    tid: str,
    config: RunConfig,
) -> list[RowContext]:
    """The contexts row metrics score: the explanation's, or the random baseline's rankings."""
    settings = config.metric_settings()
    seed = _metric_seed(config.random_state, tid, method)
    if wa is not None:
        order = complete_order(t2w, wa.ranking())
        imp = wa.importance()
        return [
            RowContext(
                ids, t2w, order, {w: float(imp[w]) for w in order}, seed, wa.signed, settings
            )
        ]
    seen = seen_words(t2w)
    n = len(seen)
    out = []
    for j, perm in enumerate(
        random_rankings(n, config.n_random, _random_seed(config.random_state, tid))
    ):
        order = [seen[p] for p in perm]
        # importance that agrees with the random order: n, n-1, ..., 1 (scaled by soft metrics)
        importance = {w: float(n - r) for r, w in enumerate(order)}
        out.append(RowContext(ids, t2w, order, importance, seed + j, True, settings))
    return out


def _score_chunk(
    adapter: TextClassifierAdapter,
    chunk: list[int],
    texts: list[str],
    text_ids: list[str],
    targets: list[int],
    config: RunConfig,
    store: ResultStore,
    new_records: list[Record],
) -> list[MetricsRecord]:
    """Build the rows of every row metric, every method and the random baseline of a chunk of
    texts, evaluate their union in one adapter call, and return the ``metrics`` records."""
    seed0 = config.random_state
    metrics = [
        m for m in (get_metric(n) for n in config.metric_names()) if isinstance(m, RowMetric)
    ]
    if not metrics:
        return []
    attributions = _attributions_of(store, new_records, {text_ids[i] for i in chunk}, seed0)
    start = time.perf_counter()
    batch = _RowBatch()
    # per text: (index, slot of the full text, [(method, [(context, {metric: slot})])])
    plans: list[tuple[int, int, list[tuple[str, list[tuple[RowContext, dict[str, int]]]]]]] = []
    for i in chunk:
        tid = text_ids[i]
        enc = adapter.encode(texts[i])
        ids, t2w = list(enc.input_ids), list(enc.token_to_word)
        if not seen_words(t2w):
            continue
        items = []
        for m in _pending_metrics(store, tid, config, attributions):
            wa = None if m == "random" else attributions[(tid, m)].attribution
            slots = []
            for ctx in _row_contexts(ids, t2w, m, wa, tid, config):
                slots.append(
                    (
                        ctx,
                        {
                            met.name: batch.add(met.rows(ctx))
                            for met in metrics
                            if wa is not None or met.has_random_baseline
                        },
                    )
                )
            items.append((m, slots))
        plans.append((i, batch.add([ids]), items))
    if not batch.rows:
        return []
    batch.evaluate(adapter)
    seconds = (time.perf_counter() - start) / max(1, sum(len(items) for _, _, items in plans))
    out: list[MetricsRecord] = []
    for i, full_slot, items in plans:
        tid, target = text_ids[i], targets[i]
        p_full = float(batch.values(full_slot, target)[0])
        for m, slots in items:
            values: dict[str, float | None] = {}
            details: dict[str, Any] = {}
            for met in metrics:
                per = [
                    (ctx, batch.values(sl[met.name], target)) for ctx, sl in slots if met.name in sl
                ]
                if not per:
                    continue
                values[met.name] = float(np.mean([met.score(c, p_full, v) for c, v in per]))
                extra = [met.details(c, p_full, v) for c, v in per]
                for key in extra[0]:
                    vals = [e[key] for e in extra]
                    details[key] = (
                        np.mean(vals, axis=0).tolist() if key.endswith("_curve") else vals[0]
                    )
            out.append(
                MetricsRecord(
                    text_id=tid,
                    method=m,
                    seed=seed0,
                    target=target,
                    p_full=p_full,
                    seconds=seconds,
                    n_words=len(slots[0][0].order),
                    values=values,
                    details=details,
                )
            )
    return out


def _variant_jobs(
    chunk: list[int],
    texts: list[str],
    text_ids: list[str],
    targets: list[int],
    probs: np.ndarray,
    config: RunConfig,
    store: ResultStore,
    attributions: dict[tuple[str, str], AttributionRecord],
) -> list[tuple[int, str, list[tuple[VariantMetric, Variant]]]]:
    """Per (text, method) still without a ``variants`` record: the variants each metric needs."""
    metrics = [
        m for m in (get_metric(n) for n in config.metric_names()) if isinstance(m, VariantMetric)
    ]
    settings = config.metric_settings()
    jobs = []
    for i in chunk:
        if i >= config.sanity_texts:
            continue
        tid = text_ids[i]
        for m in config.methods:
            if (tid, m) not in attributions or ("variants", tid, m, config.random_state) in store:
                continue
            seed = _metric_seed(config.random_state, tid, m)
            wanted = [
                (met, v)
                for met in metrics
                for v in met.variants(texts[i], targets[i], probs[i], settings, seed)
            ]
            jobs.append((i, m, wanted))
    return jobs


def _variant_chunk(
    adapter: TextClassifierAdapter,
    explainers: dict[str, Any],
    chunk: list[int],
    texts: list[str],
    text_ids: list[str],
    targets: list[int],
    probs: np.ndarray,
    config: RunConfig,
    store: ResultStore,
    new_records: list[Record],
    progress: _Progress,
    trained_rows: dict[tuple[str, tuple[int, ...]], np.ndarray] | None = None,
) -> list[VariantsRecord]:
    """Explain the variants the variant metrics need (grouped by model: the trained one, then
    each randomisation level, restored after), score them, return the ``variants`` records.

    ``trained_rows``: the chunk's memo of rows the trained model already scored (see
    :func:`shared_predictions`), reused by the variants on the trained model only."""
    seed0 = config.random_state
    attributions = _attributions_of(store, new_records, {text_ids[i] for i in chunk}, seed0)
    jobs = _variant_jobs(chunk, texts, text_ids, targets, probs, config, store, attributions)
    if not jobs:
        return []
    start = time.perf_counter()
    explained: dict[tuple[int, str, str, str], WordAttribution] = {}
    levels = list(dict.fromkeys(v.model for _, _, want in jobs for _, v in want))
    for level in sorted(levels, key=lambda lv: (lv is not None, str(lv))):
        progress.describe(f"sanity checks ({'trained model' if level is None else level})")
        model_ctx = (
            randomised(adapter.model, level, seed=seed0)
            if level is not None
            else contextlib.nullcontext()
        )
        memo = trained_rows if level is None else None  # a randomised model scores afresh
        with model_ctx, shared_predictions(adapter, memo):
            for m in config.methods:
                todo = [
                    (i, met.name, v)
                    for i, mm, want in jobs
                    if mm == m
                    for met, v in want
                    if v.model == level
                ]
                if not todo:
                    continue
                results = _explain_chunk(
                    explainers[m],
                    [v.text for _, _, v in todo],
                    [v.target for _, _, v in todo],
                    seed0,
                )
                for (i, mname, v), (wa, _err, _s, _b) in zip(todo, results, strict=True):
                    if wa is not None:
                        wa.extras["variant_offset"] = v.offset
                        explained[(i, m, mname, v.name)] = wa
    seconds = (time.perf_counter() - start) / len(jobs)
    out = []
    for i, m, want in jobs:
        tid = text_ids[i]
        original = attributions[(tid, m)].attribution
        values: dict[str, float | None] = {}
        details: dict[str, Any] = {}
        for met in dict.fromkeys(met for met, _ in want):
            got = {
                v.name: explained[(i, m, met.name, v.name)]
                for mm, v in want
                if mm is met and (i, m, met.name, v.name) in explained
            }
            values[met.name] = float(met.score(original, got))
            extra = met.details(original, got)
            if extra:
                details[met.name] = extra
        out.append(
            VariantsRecord(
                text_id=tid,
                method=m,
                seed=seed0,
                target=targets[i],
                seconds=seconds,
                values=values,
                details=details,
            )
        )
    return out
