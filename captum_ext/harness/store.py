"""The harness's resumable store: one JSON object a line, appended as results come in.

A run directory holds ``run.json`` (the manifest: texts, methods and their settings, seeds) and
``records.jsonl``. Every record has a ``kind`` and a key ``(kind, text_id, method, seed)``:

* ``attribution``: one method's :meth:`WordAttribution.to_dict` for one text (``result``) and the
  seconds it took (``seconds``; for a batch of texts explained together, the batch time divided
  by the batch size, with ``batch`` its size);
* ``error``: the method failed on the text (``error`` holds the type and message); it is not
  retried on resume;
* ``metrics``: per text and method (``method="random"`` for the random-ranking baseline), the
  values of the row metrics (``values``: ``{metric: value}``; ``details``: curves) of
  :mod:`captum_ext.metrics.protocol`;
* ``variants``: per text and method, the values of the variant metrics (randomisation, random
  logit, robustness), on the first ``sanity_texts`` texts;
* ``ground_truth``: per planted test text (ids ``gt-0000``, ...) and method, whether the planted
  shortcut token was the top word (:mod:`captum_ext.harness.ground_truth`).

Records are appended with one ``write`` call per batch (:meth:`ResultStore.extend`), then fsynced,
so a killed run loses at most the batch being computed. A torn last line (no newline, or not valid
JSON; only a power loss makes one) is cut off when the store is opened again; a bad line elsewhere
is an error naming the file and the line.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from captum_ext.errors import DataError

__all__ = ["RECORD_KINDS", "ResultStore", "record_key"]

logger = logging.getLogger("captum_ext.harness")

RECORD_KINDS: tuple[str, ...] = (
    "attribution",
    "error",
    "metrics",
    "variants",
    "ground_truth",
)

Key = tuple[str, str, str, int | None]


def record_key(record: dict[str, Any]) -> Key:
    """The identity of a record: ``(kind, text_id, method, seed)``.

    An ``error`` record stands in for the ``attribution`` it could not compute, so it has the key
    of that attribution.

    Examples::

        >>> record_key({"kind": "error", "text_id": "0001", "method": "ig", "seed": 0})
        ('attribution', '0001', 'ig', 0)
    """
    kind = record["kind"]
    if kind == "error":
        kind = "attribution"
    seed = record.get("seed")
    return (kind, str(record["text_id"]), str(record.get("method", "")), seed)


class ResultStore:
    """Append-only JSONL records with resume (``path=None`` keeps them in memory only).

    Args:
        path (str or Path, optional): the ``records.jsonl`` file; created if missing, read and
            repaired (a torn last line is cut) if present. Default: None (in memory)

    Examples::

        >>> store = ResultStore()
        >>> store.append({"kind": "attribution", "text_id": "0", "method": "ig", "seed": 0})
        >>> ("attribution", "0", "ig", 0) in store
        True
        >>> len(store)
        1
    """

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self._records: list[dict[str, Any]] = []
        self._keys: set[Key] = set()
        if self.path is not None and self.path.exists():
            for rec in self._read_and_repair(self.path):
                self._add(rec)

    @staticmethod
    def _read_and_repair(path: Path) -> Iterator[dict[str, Any]]:
        data = path.read_bytes()
        if not data:
            return
        lines = data.split(b"\n")
        tail = lines.pop()  # b"" when the file ends with a newline
        good_end = len(data) - len(tail)
        records = []
        for i, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
                if not isinstance(rec, dict) or "kind" not in rec or "text_id" not in rec:
                    raise ValueError("not a harness record")
            except ValueError as exc:
                if i == len(lines) and not tail:
                    # the last full line is corrupt (torn write then a newline): drop it too
                    good_end -= len(line) + 1
                    logger.warning("%s: dropped a corrupt last record (line %d)", path, i)
                    break
                raise DataError(
                    f"line is not a harness record ({exc}); the file was edited or corrupted: "
                    "fix or delete the line, or start a new run with another --out.",
                    path=str(path),
                    line=i,
                ) from None
            records.append(rec)
        if tail or good_end < len(data):
            logger.warning(
                "%s: cut a torn last record (%d bytes) left by an interrupted run",
                path,
                len(data) - good_end,
            )
            with open(path, "r+b") as fh:
                fh.truncate(good_end)
        yield from records

    def _add(self, record: dict[str, Any]) -> None:
        self._records.append(record)
        self._keys.add(record_key(record))

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    def __len__(self) -> int:
        return len(self._records)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self._records)

    def records(self, kind: str | None = None) -> list[dict[str, Any]]:
        """The records in the order they were written (only those of ``kind`` if given)."""
        if kind is None:
            return list(self._records)
        return [r for r in self._records if r["kind"] == kind]

    def append(self, record: dict[str, Any]) -> None:
        """Write one record (one line, flushed and fsynced) and remember its key."""
        if record.get("kind") not in RECORD_KINDS:
            raise ValueError(
                f"record kind must be one of {RECORD_KINDS}, got {record.get('kind')!r}"
            )
        if self.path is not None:
            line = json.dumps(record, ensure_ascii=False, allow_nan=True) + "\n"
            with open(self.path, "a", encoding="utf-8") as fh:
                fh.write(line)
                fh.flush()
                os.fsync(fh.fileno())
        self._add(record)

    def extend(self, records: Iterable[dict[str, Any]]) -> None:
        """Write several records with one ``write`` call (then flush and fsync).

        A process that is killed saves all of them or none (a write to a regular file is not
        cut short by a signal); only a power loss can leave a torn last line, cut on reopening.
        """
        recs = list(records)
        if not recs:
            return
        for rec in recs:
            if rec.get("kind") not in RECORD_KINDS:
                raise ValueError(
                    f"record kind must be one of {RECORD_KINDS}, got {rec.get('kind')!r}"
                )
        if self.path is not None:
            data = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in recs).encode("utf-8")
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                view = memoryview(data)
                while view:  # os.write may write less than asked (only on unusual file systems)
                    view = view[os.write(fd, view) :]
                os.fsync(fd)
            finally:
                os.close(fd)
        for rec in recs:
            self._add(rec)
