"""``compare`` on Ray: texts sharded across actors, one model per actor, one resumable store.

The driver writes the run's manifest (``run.json``) exactly as the in-process engine does, cuts
the texts into shards of whole chunks (``config.chunk_size``: a chunk is batched the same way in
both engines, so the numbers are the same), and hands the shards to a pool of Ray actors. Each
actor loads the model once and calls the public :func:`~captum_ext.harness.runner.run_compare`
on its shard with the run's ``records.jsonl`` as its store: it skips what the store already
holds and appends each finished chunk in one write (whole or not at all), and shards never share
a text, so a killed job rerun computes only the missing chunks and duplicates nothing.

Without ``address`` a local Ray starts on this machine (``num_cpus = workers x
threads_per_worker``); ``address="auto"`` or ``"ray://host:10001"`` joins a cluster, whose
workers must see the same ``out_dir`` (a shared file system) and the model directory.

Examples::

    >>> from captum_ext.engines.ray_compare import shard_bounds
    >>> shard_bounds(10, chunk_size=2, n_shards=3)
    [(0, 4), (4, 8), (8, 10)]
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from captum_ext.engines._ray import AdapterWorker, RayEngine, shard_bounds
from captum_ext.errors import InputError

__all__ = ["run_compare_ray", "shard_bounds"]


def _compare_shard(worker: AdapterWorker, shard: dict[str, Any]) -> int:
    """Run ``run_compare`` on one shard with the run's store; returns the records added."""
    from captum_ext.harness.runner import run_compare
    from captum_ext.harness.store import ResultStore

    store = ResultStore(shard["records"])
    before = len(store)
    run_compare(
        shard["texts"],
        worker.adapter,
        store=store,
        text_ids=shard["text_ids"],
        targets=shard["targets"],
        config=shard["config"],
        show_progress=False,
    )
    return len(store) - before


def _shard_cost(shard: dict[str, Any]) -> int:
    """A shard's expected work: per text, its words times the explanations it gets (the main
    one, the extra stability seeds on the first ``stability_texts``, the sanity variants on the
    first ``sanity_texts``; weights are rough, only the order matters)."""
    config = shard["config"]
    n_seeds = len(config.extra_seeds())
    return sum(
        (len(text.split()) + 1)
        * (
            1
            + (n_seeds if i < config.stability_texts else 0)
            + (4 if i < config.sanity_texts else 0)
        )
        for i, text in enumerate(shard["texts"])
    )


def run_compare_ray(
    texts: Sequence[str],
    *,
    out_dir: str | os.PathLike[str],
    model: str | os.PathLike[str] | None = None,
    model_name: str | None = None,
    config: Any = None,
    text_ids: Sequence[str] | None = None,
    targets: Sequence[int | str | None] | None = None,
    rationales: Sequence[Any] | None = None,
    adapter_kwargs: dict[str, Any] | None = None,
    workers: int = 2,
    threads_per_worker: int = 1,
    gpus_per_worker: float = 0.0,
    address: str | None = None,
    shards_per_worker: int = 4,
) -> Any:
    """Run ``compare``'s methods on ``texts`` with Ray actors; returns the run's ``ResultStore``.

    Args:
        texts: the texts.
        out_dir: the run directory (``run.json``, ``records.jsonl``), shared with the in-process
            engine: either engine resumes the other's run.
        model: checkpoint directory (every worker loads it). Default: the fine-tuned default model.
        model_name: the model's name in ``run.json`` (what the in-process run records).
            Default: ``str(model)``, or ``""``
        config (RunConfig, optional): methods, budgets, seeds, ``chunk_size``. Default: every
            method at its default budget.
        text_ids, targets, rationales: as :func:`~captum_ext.harness.runner.run_compare`.
        adapter_kwargs: ``max_length``, ``batch_size``, ``device``, ``precision`` of each
            worker's adapter. Default: None (the adapter's defaults)
        workers: actors (one model each). Default: 2
        threads_per_worker: torch threads (and Ray CPUs) per actor. Default: 1
        gpus_per_worker: GPUs per actor (fractions share one). Default: 0
        address: a Ray cluster to join; None starts a local Ray. Default: None
        shards_per_worker: shards per actor (load balancing). Default: 4
    """
    from captum_ext.adapters import TextClassifierAdapter, validate_text
    from captum_ext.harness.runner import (
        RECORDS,
        RunConfig,
        _check_manifest,  # the manifest must be the in-process engine's, byte for byte
        default_text_ids,
        model_fingerprint,
    )
    from captum_ext.harness.store import ResultStore
    from captum_ext.methods import get_method, list_methods

    adapter_kwargs = dict(adapter_kwargs or {})
    model_str = None if model is None else str(model)
    engine = RayEngine(  # checks the counts and that Ray is installed, before any model loads
        model=model_str,
        adapter_kwargs=adapter_kwargs,
        workers=workers,
        threads_per_worker=threads_per_worker,
        gpus_per_worker=gpus_per_worker,
        address=address,
        shards_per_worker=shards_per_worker,
    )
    texts = [validate_text(t, f"texts[{i}]") for i, t in enumerate(texts)]
    if not texts:
        raise InputError("texts is empty: give at least one text to compare methods on.")
    if config is None:
        config = RunConfig(methods=[m.name for m in list_methods()])
    for m in [*config.methods, *config.method_settings]:
        get_method(m)
    config = dataclasses.replace(
        config,
        method_settings={
            m: dict(v) for m, v in config.method_settings.items() if m in config.methods
        },
    )
    if config.chunk_size < 1:
        raise InputError(f"chunk_size must be >= 1, got {config.chunk_size}.")
    text_ids = [str(t) for t in (text_ids or default_text_ids(len(texts)))]
    if len(text_ids) != len(texts) or len(set(text_ids)) != len(text_ids):
        raise InputError("text_ids must give one distinct id per text.")
    if targets is not None and len(targets) != len(texts):
        raise InputError(
            f"targets must give one class per text: got {len(targets)} for {len(texts)}."
        )
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    driver_model = TextClassifierAdapter.from_pretrained(
        model_str, **{**adapter_kwargs, "device": "cpu"}
    )
    _check_manifest(
        out,
        texts,
        text_ids,
        config,
        model_name if model_name is not None else (model_str or ""),
        model_fingerprint(driver_model),
        rationales,
    )
    records = str(out / RECORDS)

    shards = []
    for a, b in shard_bounds(len(texts), chunk_size=config.chunk_size, n_shards=engine.n_shards):
        # the extra stability seeds and the sanity checks run on the first `stability_texts` and
        # `sanity_texts` texts of the whole run, not of each shard
        n_stab = max(0, min(config.stability_texts - a, b - a))
        n_sanity = max(0, min(config.sanity_texts - a, b - a))
        shards.append(
            {
                "texts": texts[a:b],
                "text_ids": text_ids[a:b],
                "targets": None if targets is None else list(targets[a:b]),
                "config": dataclasses.replace(
                    config, stability_texts=n_stab, sanity_texts=n_sanity
                ),
                "records": records,
            }
        )

    # longest first (the words to perturb, times the explanations a text gets): the actor pool
    # hands shards out in this order, so the last shards to finish are short ones
    shards.sort(key=_shard_cost, reverse=True)
    engine.map(_compare_shard, shards, adapter=driver_model)
    return ResultStore(records)
