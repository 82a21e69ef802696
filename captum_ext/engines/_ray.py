"""What every Ray engine shares: starting or joining Ray, one model per actor, sharding.

A :class:`RayEngine` says where to run (``address``, ``workers``, threads and GPUs per worker)
and which model every actor loads (``model``, ``adapter_kwargs``: the arguments of
:meth:`~captum_ext.adapters.TextClassifierAdapter.from_pretrained`). :meth:`RayEngine.map` runs a
module-level function ``fn(worker, payload)`` on a pool of :class:`AdapterWorker` actors (one
model each, loaded once) and hands each result to ``on_result`` on the driver as soon as it
arrives, so the driver can store it (whole or not at all) and a killed job loses only the shards
in flight. In a Ray session the caller started (``ray.init()`` first), the actors of a job stay
up for the next job of the same model (:func:`release_actors` ends them). Ray is imported only when an engine is made: without it, a one-line
:class:`~captum_ext.errors.InputError` says ``pip install 'captum-ext[ray]'``.

Examples::

    >>> from captum_ext.engines._ray import shard_bounds
    >>> shard_bounds(10, chunk_size=2, n_shards=3)
    [(0, 4), (4, 8), (8, 10)]
"""

from __future__ import annotations

import io
import pickle
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from captum_ext.errors import CaptumExtError, InputError

__all__ = [
    "RAY_HINT",
    "AdapterWorker",
    "RayEngine",
    "attach_adapter",
    "detach_adapter",
    "import_ray",
    "release_actors",
    "shard_bounds",
]

RAY_HINT = "pip install 'captum-ext[ray]'"


def import_ray() -> Any:
    """The ``ray`` module, or a one-line :class:`InputError` naming the extra to install."""
    try:
        import ray
    except ImportError:
        raise InputError(f"--engine ray needs Ray: {RAY_HINT} (or pip install ray).") from None
    return ray


def shard_bounds(n_texts: int, *, chunk_size: int, n_shards: int) -> list[tuple[int, int]]:
    """``[start, end)`` of ``min(n_shards, chunks)`` shards of whole chunks covering ``n_texts``,
    as even as whole chunks allow (shard sizes differ by at most one chunk, larger ones first).

    Even shards keep the actors busy to the end: 10 chunks cut 2 per shard make 5 shards, which
    2 actors share 3 to 2; cut into 8 shards of 2 or 1 chunks they share 5 to 5.
    """
    n_chunks = -(-n_texts // chunk_size)
    k = max(1, min(n_shards, n_chunks))
    base, extra = divmod(n_chunks, k)
    bounds, c = [], 0
    for i in range(k):
        size = base + (1 if i < extra else 0)
        bounds.append((c * chunk_size, min((c + size) * chunk_size, n_texts)))
        c += size
    return bounds


class AdapterWorker:
    """A Ray actor's state: one adapter, loaded once (wrapped by ``ray.remote`` in
    :meth:`RayEngine.map`).

    Attributes:
        adapter (TextClassifierAdapter): the worker's model.
        memo (dict): per-actor cache for task functions (an explainer or an extractor built
            once per actor rather than once per shard).
    """

    def __init__(self, model: str | None, adapter_kwargs: dict[str, Any], threads: int) -> None:
        import torch

        from captum_ext.adapters import TextClassifierAdapter

        torch.set_num_threads(threads)
        self.adapter = TextClassifierAdapter.from_pretrained(model, **adapter_kwargs)
        self.memo: dict[Any, Any] = {}

    def identity(self) -> dict[str, Any]:
        """What must match the driver's adapter: weights, ``max_length``, classes."""
        return adapter_identity(self.adapter)

    def run(self, fn: Callable[[AdapterWorker, Any], Any], payload: Any) -> Any:
        return fn(self, payload)


def adapter_identity(adapter: Any) -> dict[str, Any]:
    """Fingerprint of the weights (summed on the CPU, so a GPU worker matches a CPU driver),
    ``max_length`` and class names of ``adapter``."""
    import hashlib

    import numpy as np
    import torch

    digest = hashlib.sha256()
    with torch.no_grad():
        for name, p in adapter.model.named_parameters():
            t = p.detach().cpu().double()
            digest.update(name.encode())
            digest.update(np.array([t.sum().item(), t.abs().sum().item()]).tobytes())
    return {
        "fingerprint": digest.hexdigest()[:16],
        "max_length": int(adapter.max_length),
        "labels": list(adapter.labels),
    }


@dataclass(frozen=True)
class RayEngine:
    """Where and how to run a job on Ray, and the model every actor loads.

    Args:
        model (str, optional): checkpoint directory every worker loads (on a cluster: a path
            every machine sees). Default: None, the fine-tuned default model.
        adapter_kwargs (dict, optional): ``max_length``, ``batch_size``, ``device``,
            ``precision`` of each worker's adapter (None values are left out). Default: {}
        workers (int, optional): actors, one model each. Default: 2
        threads_per_worker (int, optional): torch threads (and Ray CPUs) per actor. Default: 1
        gpus_per_worker (float, optional): GPUs per actor (fractions share one). Default: 0
        address (str, optional): a Ray cluster to join (``"auto"``, ``"ray://HOST:10001"``);
            None starts a local Ray with ``workers x threads_per_worker`` CPUs (or uses the
            Ray already initialised in this process). Default: None
        shards_per_worker (int, optional): shards per actor, for load balancing. Default: 4

    Raises:
        InputError: a bad count, or Ray is not installed (``pip install 'captum-ext[ray]'``).
    """

    model: str | None = None
    adapter_kwargs: Mapping[str, Any] = field(default_factory=dict)
    workers: int = 2
    threads_per_worker: int = 1
    gpus_per_worker: float = 0.0
    address: str | None = None
    shards_per_worker: int = 4

    def __post_init__(self) -> None:
        if isinstance(self.workers, bool) or not isinstance(self.workers, int) or self.workers < 1:
            raise InputError(f"--workers must be an integer >= 1, got {self.workers!r}.")
        if (
            isinstance(self.threads_per_worker, bool)
            or not isinstance(self.threads_per_worker, int)
            or self.threads_per_worker < 1
        ):
            raise InputError(
                f"--threads-per-worker must be an integer >= 1, got {self.threads_per_worker!r}."
            )
        if not self.gpus_per_worker >= 0:
            raise InputError(f"--gpus-per-worker must be >= 0, got {self.gpus_per_worker!r}.")
        if self.shards_per_worker < 1:
            raise InputError(f"shards_per_worker must be >= 1, got {self.shards_per_worker!r}.")
        object.__setattr__(
            self,
            "adapter_kwargs",
            {k: v for k, v in dict(self.adapter_kwargs).items() if v is not None},
        )
        if self.model is not None:
            object.__setattr__(self, "model", str(self.model))
        import_ray()  # fail fast, before any model is loaded

    @property
    def n_shards(self) -> int:
        """Shards to cut a job into: ``workers x shards_per_worker``."""
        return self.workers * self.shards_per_worker

    def map(
        self,
        fn: Callable[[AdapterWorker, Any], Any],
        payloads: Iterable[Any],
        *,
        on_result: Callable[[Any], None] | None = None,
        adapter: Any = None,
    ) -> list[Any]:
        """Run ``fn(worker, payload)`` for every payload on the actors.

        Args:
            fn: a module-level function (pickled by reference); ``worker`` is the actor's
                :class:`AdapterWorker`.
            payloads: one per task (a shard).
            on_result: called on the driver with each result as soon as it arrives (in
                completion order), e.g. to store it. Default: None
            adapter: the driver's adapter; when given, every actor's weights, ``max_length`` and
                classes must equal it (a worker that loaded another model fails the job before
                any work). Default: None

        Returns:
            list: the results, in completion order.

        Raises:
            CaptumExtError: the error a task raised (unwrapped from Ray's ``RayTaskError``).
        """
        payloads = list(payloads)
        if not payloads:
            return []
        ray = import_ray()
        started = False
        if not ray.is_initialized():
            if self.address is None:
                ray.init(
                    address="local",
                    num_cpus=self.workers * self.threads_per_worker,
                    include_dashboard=False,
                    log_to_driver=False,
                )
            else:
                ray.init(address=self.address, log_to_driver=False)
            started = True
        n_actors = min(self.workers, len(payloads))
        actors = [] if started else _warm_actors(self._pool_key(), n_actors)
        results: list[Any] = []
        ok = False
        try:
            actor_cls = ray.remote(num_cpus=self.threads_per_worker, num_gpus=self.gpus_per_worker)(
                AdapterWorker
            )
            actors += [
                actor_cls.remote(self.model, dict(self.adapter_kwargs), self.threads_per_worker)
                for _ in range(n_actors - len(actors))
            ]
            try:
                if adapter is not None:
                    want = adapter_identity(adapter)
                    for got in ray.get([a.identity.remote() for a in actors]):
                        if got != want:
                            raise InputError(
                                "the Ray workers loaded another model than this process "
                                f"(weights {got['fingerprint']} vs {want['fingerprint']}, "
                                f"max_length {got['max_length']} vs {want['max_length']}): pass "
                                "--model a checkpoint directory every worker sees at that path."
                            )
                pool = ray.util.ActorPool(actors)
                for result in pool.map_unordered(lambda a, p: a.run.remote(fn, p), payloads):
                    results.append(result)
                    if on_result is not None:
                        on_result(result)
            except ray.exceptions.RayTaskError as exc:
                cause = getattr(exc, "cause", None)
                if isinstance(cause, CaptumExtError):
                    raise cause from None
                raise
            ok = True
        finally:
            if ok and not started:
                _keep_warm(self._pool_key(), actors)  # the next job of this model reuses them
            else:  # a failed job's actors go (as in a killed job): no task of it runs on
                for a in actors:
                    ray.kill(a)
            if started:
                ray.shutdown()
        return results

    def _pool_key(self) -> tuple[Any, ...]:
        import ray

        kwargs = tuple(sorted((k, repr(v)) for k, v in self.adapter_kwargs.items()))
        session = ray.get_runtime_context().get_job_id()  # actors of an ended session are gone
        return (session, self.model, kwargs, self.threads_per_worker, self.gpus_per_worker)


# -- warm actors --------------------------------------------------------------------------------
# When the caller started Ray (ray.init() in a notebook, a test session), the actors of the last
# successful job stay up, so the next job of the same model skips loading it; a job of another
# model, or release_actors(), or ray.shutdown() ends them.
_WARM: dict[str, Any] = {"key": None, "actors": []}


def _warm_actors(key: tuple[Any, ...], n: int) -> list[Any]:
    """Up to ``n`` warm actors of ``key`` (the others, and those of another key, are ended)."""
    import ray

    actors = _WARM["actors"] if _WARM["key"] == key else []
    if _WARM["key"] != key:
        release_actors()
    _WARM["key"], _WARM["actors"] = None, []
    for a in actors[n:]:
        ray.kill(a)
    return list(actors[:n])


def _keep_warm(key: tuple[Any, ...], actors: list[Any]) -> None:
    _WARM["key"], _WARM["actors"] = key, list(actors)


def release_actors() -> None:
    """End the actors kept warm after a job in a Ray session the caller started."""
    import ray

    if ray.is_initialized():
        for a in _WARM["actors"]:
            try:
                ray.kill(a)
            except Exception:  # an actor of an ended session: nothing to end
                pass
    _WARM["key"], _WARM["actors"] = None, []


# -- explainers without their model --------------------------------------------------------------
def _adapter_parts(adapter: Any) -> dict[int, tuple[str, str]]:
    """``id -> persistent id`` of the adapter, its tokenizer, its model's modules and tensors."""
    parts: dict[int, tuple[str, str]] = {id(adapter): ("adapter", "")}
    tokenizer = getattr(adapter, "tokenizer", None)
    if tokenizer is not None:
        parts[id(tokenizer)] = ("tokenizer", "")
    model = adapter.model
    for name, module in model.named_modules():
        parts[id(module)] = ("module", name)
    for name, tensor in [*model.named_parameters(), *model.named_buffers()]:
        parts[id(tensor)] = ("tensor", name)
    return parts


def detach_adapter(obj: Any, adapter: Any) -> bytes:
    """Pickle ``obj`` (an explainer built on ``adapter``) without the adapter: every reference
    to the adapter, its tokenizer, its model's modules and tensors becomes a placeholder that
    :func:`attach_adapter` fills with another process's adapter (the model is not copied)."""
    from ray import cloudpickle

    parts = _adapter_parts(adapter)

    class _Pickler(cloudpickle.CloudPickler):  # type: ignore[misc, name-defined]
        def persistent_id(self, o: Any) -> Any:
            return parts.get(id(o))

    buf = io.BytesIO()
    _Pickler(buf, protocol=pickle.HIGHEST_PROTOCOL).dump(obj)
    return buf.getvalue()


def attach_adapter(blob: bytes, adapter: Any) -> Any:
    """The object pickled by :func:`detach_adapter`, bound to ``adapter``."""
    model = adapter.model
    modules = dict(model.named_modules())
    tensors = {**dict(model.named_parameters()), **dict(model.named_buffers())}

    class _Unpickler(pickle.Unpickler):
        def persistent_load(self, pid: Any) -> Any:
            kind, name = pid
            if kind == "adapter":
                return adapter
            if kind == "tokenizer":
                return adapter.tokenizer
            return modules[name] if kind == "module" else tensors[name]

    return _Unpickler(io.BytesIO(blob)).load()
