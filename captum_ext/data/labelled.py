"""Labelled texts with any label set: a CSV or JSONL file with ``text`` and ``label`` columns.

:func:`load_dataset` is the loader every command uses: a CSV whose header names a ``text`` and a
``label`` column, or a JSON Lines file (``.jsonl``/``.ndjson``) of ``{"text": ..., "label": ...}``
objects, is read by :func:`load_labelled` with its own label names; anything else (a Sentiment140
folder or CSV) by :func:`~captum_ext.data.load_sentiment140`.

Labels are taken by name. Numbers are not names: a file labelled only with Sentiment140's polarity
codes (0 = negative, 2 = neutral, 4 = positive, with at least a 4) is read as such and the log says
so; any other numeric coding (0/1, 0/1/2, ...) is ambiguous and needs ``label_map``
(``--label-map 0=negative,1=neutral,2=positive``), never a guess.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import pathlib
from collections.abc import Mapping
from typing import Any

import numpy as np

from captum_ext.data.sentiment140 import (
    TextDataset,
    _encoding_error,
    _read_bytes,
    load_sentiment140,
)
from captum_ext.data.splits import _first_copies
from captum_ext.errors import DataError
from captum_ext.labels import CONCEPTS, POLARITY_CODES, canonical_label, parse_label_map

__all__ = ["is_labelled_file", "load_dataset", "load_labelled"]

logger = logging.getLogger("captum_ext.data")

_JSONL = (".jsonl", ".ndjson")
_FIX_NUMERIC = (
    "say what each number means with --label-map (Python: label_map=), e.g. "
    "--label-map 0=negative,1=neutral,2=positive, or write the label names in the file"
)


def _csv_header(path: pathlib.Path) -> list[str] | None:
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            row = next(csv.reader(fh), None)
    except (OSError, UnicodeDecodeError, csv.Error):
        return None
    return [c.strip().lower() for c in row] if row else None


def is_labelled_file(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a ``text``/``label`` CSV or a JSON Lines file (:func:`load_labelled`)."""
    p = pathlib.Path(path).expanduser()
    if not p.is_file():
        return False
    if p.suffix.lower() in _JSONL:
        return True
    header = _csv_header(p) or []
    return "text" in header and "label" in header


def load_dataset(
    path: str | os.PathLike[str],
    *,
    keep_neutral: bool = False,
    label_map: str | Mapping[str, Any] | None = None,
) -> TextDataset:
    """Read labelled texts: :func:`load_labelled` for a ``text``/``label`` CSV or JSONL file, else
    :func:`~captum_ext.data.load_sentiment140` (``keep_neutral`` applies there; a labelled file
    keeps all its labels)."""
    if is_labelled_file(path):
        return load_labelled(path, label_map=label_map)
    return load_sentiment140(path, keep_neutral=keep_neutral)


def load_labelled(
    path: str | os.PathLike[str], *, label_map: str | Mapping[str, Any] | None = None
) -> TextDataset:
    r"""Read a CSV (header with ``text`` and ``label``) or JSONL file of labelled texts.

    Label names are the file's own (stripped), ordered negative, neutral, positive when they are
    all sentiment names (:data:`captum_ext.labels.CONCEPTS`), else alphabetically. Duplicate texts
    keep their first copy (as :func:`~captum_ext.data.load_sentiment140`). A ``text_pair`` column
    is refused (pairs are not supported by this loader yet).

    Args:
        path (str or os.PathLike): the file (UTF-8).
        label_map (str or mapping, optional): needed when the labels are numbers other than
            Sentiment140's 0/2/4 polarity codes; its keys must cover every number (the names
            stay the numbers; :class:`~captum_ext.labels.LabelModel` maps them). Default: None

    Raises:
        DataError: an unreadable file or row, a missing column, an empty label or text, or
            numeric labels without ``label_map``.

    Examples::

        >>> import pathlib, tempfile
        >>> from captum_ext.data.labelled import load_labelled
        >>> f = pathlib.Path(tempfile.mkdtemp()) / "three.csv"
        >>> _ = f.write_text("text,label\ngreat,positive\nmeh,neutral\nawful,negative\n")
        >>> ds = load_labelled(f)
        >>> ds.label_names, ds.labels.tolist()
        (('negative', 'neutral', 'positive'), [2, 1, 0])
    """
    file = pathlib.Path(path).expanduser().absolute()
    if not file.is_file():
        raise DataError(
            "no such file; pass a CSV or JSONL file with text and label.", path=str(file)
        )
    rows = _read_jsonl(file) if file.suffix.lower() in _JSONL else _read_labelled_csv(file)
    if not rows:
        raise DataError("the file has no rows; add text,label rows.", path=str(file))
    raw = [lab for _, lab, _ in rows]
    names = _label_names(file, sorted(set(raw)), label_map)
    index = {name: i for i, name in enumerate(names)}
    polarity = label_map is None and _is_polarity_coding(set(raw))
    code_names = {c: POLARITY_CODES[c] for c in set(raw)} if polarity else {}
    texts = [t for t, _, _ in rows]
    labels = np.array([index[code_names.get(lab, lab)] for lab in raw], dtype=np.int64)
    keep, n_dropped, n_conflicts = _first_copies(texts, labels)
    if n_dropped:
        logger.info(
            "%s: dropped %d duplicate texts (%d with a conflicting label)",
            file,
            n_dropped,
            n_conflicts,
        )
        texts = [texts[i] for i in keep.tolist()]
        labels = labels[keep]
    ds = TextDataset(texts=texts, labels=labels, label_names=tuple(names), source=str(file))
    logger.info("%s: loaded %r", file, ds)
    return ds


def _is_polarity_coding(values: set[str]) -> bool:
    return values <= set(POLARITY_CODES) and "4" in values


def _label_names(
    file: pathlib.Path, values: list[str], label_map: str | Mapping[str, Any] | None
) -> list[str]:
    numeric = [v for v in values if v.lstrip("-").isdigit()]
    if numeric and len(numeric) == len(values):
        if _is_polarity_coding(set(values)) and label_map is None:
            logger.warning(
                "%s: labels %s read as Sentiment140 polarity codes (0 = negative, 2 = neutral, "
                "4 = positive); pass --label-map to read them otherwise",
                file,
                "/".join(values),
            )
            return [c for c in CONCEPTS if c in {POLARITY_CODES[v] for v in values}]
        mapped = parse_label_map(label_map) if label_map is not None else {}
        unmapped = [v for v in numeric if v not in mapped]
        if unmapped:
            raise DataError(
                f"the labels are numbers ({', '.join(values)}), which do not say which class is "
                f"which{'' if not mapped else f' and --label-map does not map {unmapped}'}: "
                f"{_FIX_NUMERIC}.",
                path=str(file),
            )
        return sorted(values, key=int)
    concepts = [canonical_label(v) for v in values]
    if all(concepts) and len(set(concepts)) == len(concepts):
        order = list(CONCEPTS)
        return sorted(values, key=lambda v: order.index(str(canonical_label(v))))
    return sorted(values)


def _check_columns(file: pathlib.Path, columns: list[str]) -> None:
    if "text_pair" in columns:
        raise DataError(
            "a text_pair column: text pairs are not supported by this loader yet; remove the "
            "column, or explain pairs with explain --text-pair.",
            path=str(file),
        )
    missing = [c for c in ("text", "label") if c not in columns]
    if missing:
        raise DataError(
            f"no {' and no '.join(missing)} column (columns: {', '.join(columns)}); name the "
            "columns text and label.",
            path=str(file),
        )


def _row(file: pathlib.Path, line: int, text: Any, label: Any) -> tuple[str, str, int]:
    if label is None or not str(label).strip():
        raise DataError(
            "empty label; give every row a label, or delete it.", path=str(file), line=line
        )
    if not isinstance(text, str) or not text.strip():
        raise DataError("empty or missing text; delete the row.", path=str(file), line=line)
    return text.strip(), str(label).strip(), line


def _read_labelled_csv(file: pathlib.Path) -> list[tuple[str, str, int]]:
    data = _read_bytes(file)
    try:
        content = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise _encoding_error(file, data, error) from None
    reader = csv.reader(io.StringIO(content, newline=""))
    rows: list[tuple[str, str, int]] = []
    try:
        header = [c.strip().lower() for c in next(reader)]
        _check_columns(file, header)
        it, il = header.index("text"), header.index("label")
        for row in reader:
            line = reader.line_num
            if not row or all(not c.strip() for c in row):
                continue
            if len(row) != len(header):
                raise DataError(
                    f"row has {len(row)} columns, the header {len(header)}; put a text that "
                    'contains commas in double quotes ("like, this").',
                    path=str(file),
                    line=line,
                )
            rows.append(_row(file, line, row[it], row[il]))
    except csv.Error as error:
        raise DataError(
            f"cannot be parsed as CSV ({error}); close the double quote.",
            path=str(file),
            line=reader.line_num,
        ) from None
    return rows


def _read_jsonl(file: pathlib.Path) -> list[tuple[str, str, int]]:
    data = _read_bytes(file)
    try:
        content = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise _encoding_error(file, data, error) from None
    rows: list[tuple[str, str, int]] = []
    for line, raw in enumerate(content.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except ValueError as e:
            raise DataError(f"not a JSON object ({e}).", path=str(file), line=line) from None
        if not isinstance(obj, dict):
            raise DataError("each line must be a JSON object.", path=str(file), line=line)
        _check_columns(file, [str(k).lower() for k in obj])
        rows.append(_row(file, line, obj.get("text"), obj.get("label")))
    return rows
