"""The harness's resumable store: one JSON object a line, appended as results come in.

A run directory holds ``run.json`` (the manifest: texts, methods and their settings, seeds) and
``records.jsonl``. Every record has a ``kind`` and a key ``(kind, text_id, method, seed)``, and
one frozen dataclass per kind (:class:`Record` and its subclasses) is its typed form, with its
JSON round trip (:meth:`Record.to_json`, :func:`as_record`); the store reads and hands out typed
records and writes their JSON, one line each:

* ``attribution`` (:class:`AttributionRecord`): one method's :meth:`WordAttribution.to_dict` for
  one text (``result``; :attr:`AttributionRecord.attribution` is it parsed, once) and the seconds
  it took (``seconds``; for a batch of texts explained together, the batch time divided by the
  batch size, with ``batch`` its size), the method's ``precision``;
* ``error`` (:class:`ErrorRecord`): the method failed on the text (``error`` holds the type and
  message); it is not retried on resume;
* ``metrics`` (:class:`MetricsRecord`): per text and method (``method="random"`` for the
  random-ranking baseline), the values of the row metrics (``values``: ``{metric: value}``;
  ``details``: curves) of :mod:`captum_ext.metrics.protocol`;
* ``variants`` (:class:`VariantsRecord`): per text and method, the values of the variant metrics
  (randomisation, random logit, robustness), on the first ``sanity_texts`` texts;
* ``ground_truth`` (:class:`GroundTruthRecord`): per planted test text (ids ``gt-0000``, ...) and
  method, whether the planted shortcut token was the top word
  (:mod:`captum_ext.harness.ground_truth`).

Records are appended with one ``write`` call per batch (:meth:`ResultStore.extend`), then fsynced,
so a killed run loses at most the batch being computed. A torn last line (no newline, or not valid
JSON; only a power loss makes one) is cut off when the store is opened again; a bad line elsewhere,
or a record of an unknown kind anywhere, is an error naming the file and the line.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from captum_ext.errors import DataError
from captum_ext.result import WordAttribution

__all__ = [
    "RECORD_KINDS",
    "AttributionRecord",
    "ErrorRecord",
    "GroundTruthRecord",
    "MetricsRecord",
    "Record",
    "ResultStore",
    "VariantsRecord",
    "as_record",
    "as_records",
    "read_records",
    "record_key",
]

logger = logging.getLogger("captum_ext.harness")

Key = tuple[str, str, str, int | None]

R = TypeVar("R", bound="Record")


@dataclass(frozen=True, kw_only=True)
class Record:
    """What every record has: its ``kind`` (a class attribute), ``text_id``, ``method``, ``seed``.

    A record's JSON object is ``kind`` followed by its fields in declaration order
    (:meth:`to_dict`); :func:`as_record` (or :meth:`from_dict` of the record's class) inverts it.
    """

    kind: ClassVar[str] = ""
    #: optional fields left out of the JSON when None (so older records read and write the same)
    _omit_if_none: ClassVar[frozenset[str]] = frozenset()
    text_id: str
    method: str
    seed: int

    @property
    def key(self) -> Key:
        """``(kind, text_id, method, seed)``; an error has the key of the attribution it stands
        in for (see :func:`record_key`)."""
        kind = "attribution" if self.kind == "error" else self.kind
        return (kind, str(self.text_id), str(self.method), self.seed)

    def to_dict(self) -> dict[str, Any]:
        """The record's JSON object: ``kind``, then the fields in declaration order."""
        omit = self._omit_if_none
        return {
            "kind": self.kind,
            **{
                f.name: getattr(self, f.name)
                for f in dataclasses.fields(self)
                if not (f.name in omit and getattr(self, f.name) is None)
            },
        }

    def to_json(self) -> str:
        """One line of ``records.jsonl`` (without its newline); :meth:`from_json` inverts it."""
        return json.dumps(self.to_dict(), ensure_ascii=False)

    @classmethod
    def from_dict(cls: type[R], d: Mapping[str, Any]) -> R:
        """The record of a JSON object of this class's kind (see :func:`as_record`)."""
        rec = as_record(d)
        if not isinstance(rec, cls):
            raise DataError(f"expected a record of kind {cls.kind!r}, got {rec.kind!r}.")
        return rec

    @classmethod
    def from_json(cls: type[R], line: str) -> R:
        """The record of one line of ``records.jsonl``."""
        return cls.from_dict(json.loads(line))


@dataclass(frozen=True, kw_only=True)
class AttributionRecord(Record):
    """One method's explanation of one text (``result``: :meth:`WordAttribution.to_dict`).

    ``seconds`` is the time per text (a batch of ``batch`` texts explained together shares the
    batch's time equally); ``precision`` the method's precision (``None`` in records of runs
    made before precisions were recorded); ``reused`` the share of the model rows the method
    asked for that were already scored, by an earlier method of the run (the harness shares rows
    within a chunk) or by itself (a repeated row), so ``seconds`` understates its cost alone when
    it is high (``None``: the
    method asked for no rows but the text's own, e.g. a gradient method, or the run predates the
    field; left out of the JSON then). :attr:`attribution` is the parsed result.
    """

    kind: ClassVar[str] = "attribution"
    seconds: float
    batch: int
    precision: str | None = None
    reused: float | None = None
    result: dict[str, Any] = field(repr=False)

    _omit_if_none: ClassVar[frozenset[str]] = frozenset({"reused"})

    @cached_property
    def attribution(self) -> WordAttribution:
        """The :class:`WordAttribution` of ``result`` (parsed on first use, then kept: do not
        modify it in place)."""
        return WordAttribution.from_dict(self.result)


@dataclass(frozen=True, kw_only=True)
class ErrorRecord(Record):
    """The method failed on the text (``error``: ``"<type>: <message>"``); not retried."""

    kind: ClassVar[str] = "error"
    seconds: float
    error: str


@dataclass(frozen=True, kw_only=True)
class MetricsRecord(Record):
    """The row metrics of one text and method (``method="random"``: the random baseline).

    ``target``: the explained class; ``p_full``: its probability on the whole text;
    ``n_words``: words ranked; ``values``: ``{metric: value}``; ``details``: curves.
    """

    kind: ClassVar[str] = "metrics"
    target: int
    p_full: float
    seconds: float
    n_words: int
    values: dict[str, float | None]
    details: dict[str, Any]


@dataclass(frozen=True, kw_only=True)
class VariantsRecord(Record):
    """The variant metrics (randomisation, random logit, robustness) of one text and method."""

    kind: ClassVar[str] = "variants"
    target: int
    seconds: float
    values: dict[str, float | None]
    details: dict[str, Any]


@dataclass(frozen=True, kw_only=True)
class GroundTruthRecord(Record):
    """One method on one planted test text: ``values["planted_recall"]`` (``None`` when the
    method failed, ``error`` then says why) and what was ``planted``."""

    kind: ClassVar[str] = "ground_truth"
    seconds: float
    values: dict[str, float | None]
    error: str | None
    planted: dict[str, Any]


_CLASSES: dict[str, type[Record]] = {
    c.kind: c
    for c in (AttributionRecord, ErrorRecord, MetricsRecord, VariantsRecord, GroundTruthRecord)
}

RECORD_KINDS: tuple[str, ...] = tuple(_CLASSES)


def as_record(record: Record | Mapping[str, Any]) -> Record:
    """The typed record of a JSON object (a record is returned as it is).

    Raises:
        DataError: the kind is not one of :data:`RECORD_KINDS`, or a field is missing or
            unexpected.

    Examples::

        >>> rec = as_record({"kind": "error", "text_id": "0001", "method": "ig", "seed": 0,
        ...                  "seconds": 0.5, "error": "InputError: no words"})
        >>> rec.error, rec.key
        ('InputError: no words', ('attribution', '0001', 'ig', 0))
        >>> as_record(rec.to_dict()) == rec
        True
    """
    if isinstance(record, Record):
        return record
    kind = record.get("kind")
    cls = _CLASSES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise DataError(
            f"unknown record kind {kind!r} (known: {', '.join(RECORD_KINDS)}); the file was "
            "written by another version of captum-ext or edited."
        )
    names = {f.name for f in dataclasses.fields(cls)}
    required = {
        f.name
        for f in dataclasses.fields(cls)
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    }
    missing = sorted(required - record.keys())
    unexpected = sorted(set(record) - names - {"kind"})
    if missing or unexpected:
        what = "; ".join(
            x
            for x in (
                f"missing {', '.join(missing)}" if missing else "",
                f"unexpected {', '.join(unexpected)}" if unexpected else "",
            )
            if x
        )
        raise DataError(f"a record of kind {kind!r} has other fields than it should ({what}).")
    return cls(**{k: v for k, v in record.items() if k != "kind"})


def as_records(records: Iterable[Record | Mapping[str, Any]]) -> list[Record]:
    """:func:`as_record` of each (typed records pass through)."""
    return [as_record(r) for r in records]


def record_key(record: Record | Mapping[str, Any]) -> Key:
    """The identity of a record (or of its JSON object): ``(kind, text_id, method, seed)``.

    An ``error`` record stands in for the ``attribution`` it could not compute, so it has the key
    of that attribution.

    Examples::

        >>> record_key({"kind": "error", "text_id": "0001", "method": "ig", "seed": 0})
        ('attribution', '0001', 'ig', 0)
    """
    if isinstance(record, Record):
        return record.key
    kind = record["kind"]
    if kind == "error":
        kind = "attribution"
    seed = record.get("seed")
    return (kind, str(record["text_id"]), str(record.get("method", "")), seed)


def _parse_line(line: bytes) -> dict[str, Any]:
    """The JSON object of one line (ValueError when it is not one: a torn or edited line)."""
    rec = json.loads(line)
    if not isinstance(rec, dict) or "kind" not in rec or "text_id" not in rec:
        raise ValueError("not a harness record")
    return rec


def read_records(path: str | os.PathLike[str]) -> Iterator[Record]:
    """The typed records of a ``records.jsonl`` file, in file order (nothing is repaired: a
    torn last line is an error here, :class:`ResultStore` cuts it).

    Raises:
        DataError: a line is not a record (names the file, the line and the kind).
    """
    path = Path(path)
    with open(path, "rb") as fh:
        for i, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                obj = _parse_line(line)
            except ValueError as exc:
                raise DataError(
                    f"line is not a harness record ({exc}); the file was edited or corrupted: "
                    "fix or delete the line, or start a new run with another --out.",
                    path=str(path),
                    line=i,
                ) from None
            yield _typed(obj, path, i)


def _typed(obj: dict[str, Any], path: Path, line: int) -> Record:
    try:
        return as_record(obj)
    except DataError as exc:
        raise DataError(str(exc), path=str(path), line=line) from None


class ResultStore:
    """Append-only JSONL records with resume (``path=None`` keeps them in memory only).

    The records are typed (:class:`Record`: one class per kind); what is written is each
    record's :meth:`~Record.to_json`, one line each.

    Args:
        path (str or Path, optional): the ``records.jsonl`` file; created if missing, read and
            repaired (a torn last line is cut) if present. Default: None (in memory)

    Raises:
        DataError: a line of ``path`` other than the last is not a record, or a line is a record
            of an unknown kind or with other fields than its kind has (names the file and line).

    Examples::

        >>> store = ResultStore()
        >>> store.append(ErrorRecord(text_id="0", method="ig", seed=0, seconds=0.1, error="E: x"))
        >>> ("attribution", "0", "ig", 0) in store
        True
        >>> len(store), store.records("error")[0].error
        (1, 'E: x')
    """

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self._records: list[Record] = []
        self._keys: set[Key] = set()
        if self.path is not None and self.path.exists():
            for rec in self._read_and_repair(self.path):
                self._add(rec)

    @staticmethod
    def _read_and_repair(path: Path) -> list[Record]:
        data = path.read_bytes()
        if not data:
            return []
        lines = data.split(b"\n")
        tail = lines.pop()  # b"" when the file ends with a newline
        good_end = len(data) - len(tail)
        objects: list[tuple[int, dict[str, Any]]] = []
        for i, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                obj = _parse_line(line)
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
            objects.append((i, obj))
        # a whole JSON object of an unknown kind is not a torn write: an error, wherever it is
        records = [_typed(obj, path, i) for i, obj in objects]
        if tail or good_end < len(data):
            logger.warning(
                "%s: cut a torn last record (%d bytes) left by an interrupted run",
                path,
                len(data) - good_end,
            )
            with open(path, "r+b") as fh:
                fh.truncate(good_end)
        return records

    def _add(self, record: Record) -> None:
        self._records.append(record)
        self._keys.add(record.key)

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    def __len__(self) -> int:
        return len(self._records)

    def __iter__(self) -> Iterator[Record]:
        return iter(self._records)

    def records(self, kind: str | None = None) -> list[Record]:
        """The records in the order they were written (only those of ``kind`` if given)."""
        if kind is None:
            return list(self._records)
        return [r for r in self._records if r.kind == kind]

    def append(self, record: Record | Mapping[str, Any]) -> None:
        """Write one record (one line, flushed and fsynced) and remember its key.

        A JSON object is turned into its record first (:func:`as_record`)."""
        self.extend([record])

    def extend(self, records: Iterable[Record | Mapping[str, Any]]) -> None:
        """Write several records with one ``write`` call (then flush and fsync).

        A process that is killed saves all of them or none (a write to a regular file is not
        cut short by a signal); only a power loss can leave a torn last line, cut on reopening.
        """
        recs = as_records(records)  # an unknown kind or a missing field fails before writing
        if not recs:
            return
        if self.path is not None:
            data = "".join(r.to_json() + "\n" for r in recs).encode("utf-8")
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
