"""Sentiment140 tweets: the :class:`TextDataset` type and a loader for the three shapes the corpus
comes in.

Sentiment140 (Go, Bhayani and Huang, 2009, "Twitter Sentiment Classification using Distant
Supervision") labels tweets by the emoticons that were stripped from them, so its labels are noisy.
:func:`load_sentiment140` reads

1. a folder with ``positive.txt`` and ``negative.txt``, one tweet a line, UTF-8 (the project's
   100,000-tweet sample in ``../shared/data/sentiment140``);
2. the original six-column CSV ``training.1600000.processed.noemoticon.csv``: quoted,
   comma-separated ``polarity,id,date,query,user,text`` with polarity 0/2/4, latin-1;
3. a two-column ``polarity,text`` CSV (optional header; polarity 0/4, 0/1 or the words
   negative/positive), UTF-8.

Rows skipped on purpose (blank lines, neutral rows, duplicate tweets) are counted in the log of the
``captum_ext.data`` logger; rows that cannot be read raise :class:`~captum_ext.errors.DataError`
naming the file, the line and the fix.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import logging
import os
import pathlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from captum_ext.data.splits import _balanced_counts, _first_copies
from captum_ext.errors import DataError, InputError
from captum_ext.validation import check_not_device, check_scalar

__all__ = ["TextDataset", "default_data_path", "load_sentiment140"]

logger = logging.getLogger("captum_ext.data")

NEGATIVE, POSITIVE, NEUTRAL = 0, 1, 2
LABEL_NAMES: tuple[str, ...] = ("negative", "positive")
LABEL_NAMES_WITH_NEUTRAL: tuple[str, ...] = ("negative", "positive", "neutral")
ENV_VAR = "CAPTUM_EXT_DATA"
_SHARED_SUBDIR = pathlib.Path("shared", "data", "sentiment140")

_ACCEPTED_SHAPES = (
    "a folder with positive.txt and negative.txt (one tweet a line, UTF-8), the original "
    "six-column Sentiment140 CSV (polarity,id,date,query,user,text; latin-1) or a two-column "
    "polarity,text CSV"
)
# polarity field (stripped, lower-cased) -> label
_SIX_COLUMN_POLARITY = {"0": NEGATIVE, "2": NEUTRAL, "4": POSITIVE}
_TWO_COLUMN_POLARITY = {
    "0": NEGATIVE,
    "1": POSITIVE,
    "2": NEUTRAL,
    "4": POSITIVE,
    "negative": NEGATIVE,
    "positive": POSITIVE,
    "neutral": NEUTRAL,
}
_ACCEPTED_POLARITY = {
    6: "0 (negative), 2 (neutral), 4 (positive)",
    2: "0 or negative, 1 or 4 or positive, 2 or neutral",
}
_SHAPE_NAME = {
    6: "six-column Sentiment140 CSV: polarity,id,date,query,user,text",
    2: "two-column CSV: polarity,text",
}


@dataclass(frozen=True, eq=False, repr=False)
class TextDataset:
    r"""Labelled texts, immutable, with a fingerprint of their content.

    Args:
        texts (list of str): One text (tweet) per row.
        labels (array-like of int): One label per row, an index into ``label_names``; stored as a
            read-only ``int64`` array. Sentiment140: 0 = negative, 1 = positive, 2 = neutral.
        label_names (tuple of str, optional): Name of each label.
            Default: ``("negative", "positive")``
        source (str, optional): The file or folder the rows were read from. Default: ``""``
        fingerprint (str, optional): 16 hex characters of a SHA-256 over the ``(label, text)``
            rows in order; computed when empty, checked when given. Default: ``""``

    Two datasets are equal when their rows (fingerprint) and label names are equal.

    Examples::

        >>> from captum_ext.data import TextDataset
        >>> ds = TextDataset(["so happy", "so sad", "great day", "awful day"], [1, 0, 1, 0])
        >>> len(ds), ds.label_names
        (4, ('negative', 'positive'))
        >>> ds.subset([0, 2]).texts
        ['so happy', 'great day']
        >>> sorted(ds.sample(2, seed=0).labels.tolist())
        [0, 1]
        >>> len(ds.fingerprint)
        16
    """

    texts: list[str]
    labels: np.ndarray
    label_names: tuple[str, ...] = LABEL_NAMES
    source: str = ""
    fingerprint: str = ""

    def __post_init__(self) -> None:
        if isinstance(self.texts, str):
            raise InputError("texts must be a list of strings, got a single str; wrap it: [text].")
        texts = list(self.texts)
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise InputError(f"texts[{i}] must be a str, got {type(text).__name__}.")
        label_names = tuple(str(name) for name in self.label_names)
        if not label_names:
            raise InputError("label_names must name at least one label, got ().")
        raw = np.asarray(self.labels)
        if raw.size and raw.dtype.kind not in "iu":
            raise InputError(
                f"labels must be integers (indices into label_names), got dtype {raw.dtype}."
            )
        labels = np.array(raw, dtype=np.int64).reshape(-1) if raw.ndim <= 1 else None
        if labels is None or labels.shape[0] != len(texts):
            raise InputError(
                f"labels must be one integer per text: got shape {raw.shape} for {len(texts)} texts."
            )
        if labels.size and (labels.min() < 0 or labels.max() >= len(label_names)):
            raise InputError(
                f"labels must be in [0, {len(label_names) - 1}] for label_names={label_names}, "
                f"got values from {labels.min()} to {labels.max()}."
            )
        labels.setflags(write=False)
        fingerprint = _fingerprint(texts, labels)
        if self.fingerprint and self.fingerprint != fingerprint:
            raise InputError(
                f"fingerprint={self.fingerprint!r} does not match the rows ({fingerprint!r}); "
                "leave it empty to have it computed."
            )
        object.__setattr__(self, "texts", texts)
        object.__setattr__(self, "labels", labels)
        object.__setattr__(self, "label_names", label_names)
        object.__setattr__(self, "source", os.fspath(self.source))
        object.__setattr__(self, "fingerprint", fingerprint)

    def __len__(self) -> int:
        return len(self.texts)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TextDataset):
            return NotImplemented
        return self.fingerprint == other.fingerprint and self.label_names == other.label_names

    def __hash__(self) -> int:
        return hash((self.fingerprint, self.label_names))

    def __repr__(self) -> str:
        counts = np.bincount(self.labels, minlength=len(self.label_names))
        per_label = ", ".join(
            f"{name}={c}" for name, c in zip(self.label_names, counts.tolist(), strict=True)
        )
        return (
            f"TextDataset(n={len(self)}, {per_label}, source={self.source!r}, "
            f"fingerprint={self.fingerprint!r})"
        )

    def subset(self, indices: Sequence[int] | np.ndarray) -> TextDataset:
        """The rows at ``indices`` (ints, or a boolean mask of length ``len(self)``), in that order.

        Args:
            indices (sequence of int or bool array): Row positions, or a mask.

        Returns:
            TextDataset: A new dataset with the same ``label_names`` and ``source`` and its own
            fingerprint.

        Examples::

            >>> from captum_ext.data import TextDataset
            >>> ds = TextDataset(["a", "b", "c"], [0, 1, 0])
            >>> ds.subset([2, 0]).texts, ds.subset([False, True, False]).labels.tolist()
            (['c', 'a'], [1])
        """
        idx = np.asarray(indices)
        n = len(self)
        if idx.dtype == bool:
            if idx.shape != (n,):
                raise InputError(
                    f"a boolean mask for subset must have length {n}, got shape {idx.shape}."
                )
            idx = np.flatnonzero(idx)
        elif idx.size == 0:
            idx = np.empty(0, dtype=np.int64)
        elif idx.dtype.kind not in "iu" or idx.ndim != 1:
            raise InputError(
                f"indices must be a 1-d sequence of ints or a boolean mask, got dtype {idx.dtype} "
                f"and shape {idx.shape}."
            )
        elif idx.min() < -n or idx.max() >= n:
            raise InputError(
                f"indices must be in [{-n}, {n - 1}] for a dataset of {n} rows, got values from "
                f"{idx.min()} to {idx.max()}."
            )
        return TextDataset(
            texts=[self.texts[i] for i in idx.tolist()],
            labels=self.labels[idx],
            label_names=self.label_names,
            source=self.source,
        )

    def sample(self, n: int, *, seed: int = 0, stratify: bool = True) -> TextDataset:
        """``n`` distinct rows drawn at random, in random order.

        Args:
            n (int): Number of rows, ``1 <= n <= len(self)``.
            seed (int, optional): Seed; the same seed gives the same rows. Default: 0
            stratify (bool, optional): Balance the labels: every label present gets ``n // k``
                rows (the odd ones to the smaller labels); a label with too few rows gives all it
                has and the others make up the difference (logged). Default: True

        Returns:
            TextDataset: The sample, with its own fingerprint.

        Examples::

            >>> from captum_ext.data import TextDataset
            >>> ds = TextDataset([f"t{i}" for i in range(10)], [0] * 8 + [1] * 2)
            >>> ds.sample(4, seed=1).labels.tolist().count(1)
            2
        """
        check_scalar(n, "n", int, min_val=1, max_val=len(self), hint="(the dataset size)")
        rng = np.random.default_rng(seed)
        if not stratify:
            return self.subset(rng.choice(len(self), size=int(n), replace=False))
        members = [np.flatnonzero(self.labels == c) for c in range(len(self.label_names))]
        counts = _balanced_counts([len(m) for m in members], int(n))
        present = [c for c, m in zip(counts, members, strict=True) if len(m)]
        if max(present) - min(present) > 1:
            logger.warning(
                "sample: not enough rows for a balanced sample of %d: %s",
                n,
                ", ".join(
                    f"{name} {c} of {len(m)}"
                    for name, c, m in zip(self.label_names, counts, members, strict=True)
                    if len(m)
                ),
            )
        chosen = [
            rng.choice(m, size=c, replace=False) for m, c in zip(members, counts, strict=True) if c
        ]
        return self.subset(rng.permutation(np.concatenate(chosen)))


def load_sentiment140(
    path: str | os.PathLike[str],
    *,
    keep_neutral: bool = False,
    limit: int | None = None,
) -> TextDataset:
    r"""Read Sentiment140 tweets from a folder of ``positive.txt``/``negative.txt`` or a CSV.

    The shape is detected: a folder must hold ``positive.txt`` and ``negative.txt`` (one tweet a
    line, UTF-8; blank lines are skipped and counted); a file is read as CSV and its first row
    decides between the original six-column layout (``polarity,id,date,query,user,text``,
    polarity 0/2/4, latin-1 unless the whole file is valid UTF-8) and a two-column
    ``polarity,text`` layout (UTF-8; polarity 0/4, 0/1 or negative/positive/neutral; a first row
    whose polarity is a word other than these is taken as a header). Texts are stripped of
    surrounding whitespace; identical tweets (compared lower-cased with whitespace collapsed, as
    the uncased model sees them) keep only their first copy. Skipped rows are counted in the
    ``captum_ext.data`` log.

    Args:
        path (str or os.PathLike): The folder or CSV file.
        keep_neutral (bool, optional): Keep polarity-2 rows as label 2 (``"neutral"``) instead of
            dropping them; ``label_names`` then has three entries. Default: False
        limit (int, optional): Read at most this many rows from each file (for quick runs). The
            original CSV lists all negative tweets before the positive ones, so a limit there
            gives one class only: use ``.sample(n)`` on the full data instead. Default: None

    Returns:
        TextDataset: Labels 0 = negative, 1 = positive (2 = neutral); the folder's negatives come
        first. ``source`` is the absolute path read.

    Raises:
        DataError: A missing path, a folder without the two files, an empty file, a row with the
            wrong number of columns, an unknown polarity, a file that is not valid UTF-8 where
            UTF-8 is expected, or no tweets left at all. The message names the file, the line and
            the fix.
        InputError: ``limit`` is not a positive int.

    Examples::

        >>> from captum_ext.data import default_data_path, load_sentiment140
        >>> ds = load_sentiment140(default_data_path(), limit=100)
        >>> len(ds), ds.label_names
        (200, ('negative', 'positive'))
        >>> ds.labels[:3].tolist(), ds.labels[-3:].tolist()
        ([0, 0, 0], [1, 1, 1])
    """
    check_scalar(limit, "limit", int, min_val=1, allow_none=True, expected="a positive int")
    root = pathlib.Path(path).expanduser().absolute()
    if not root.exists():
        raise DataError(f"no such file or folder; pass {_ACCEPTED_SHAPES}.", path=str(root))
    check_not_device(root, "data")
    texts: list[str] = []
    labels: list[int] = []
    if root.is_dir():
        _check_folder(root)
        for name, label in (("negative.txt", NEGATIVE), ("positive.txt", POSITIVE)):
            file_texts = _read_txt(root / name, limit)
            texts.extend(file_texts)
            labels.extend([label] * len(file_texts))
    else:
        _read_csv(root, texts, labels, keep_neutral=keep_neutral, limit=limit)
    if not texts:
        raise DataError(
            "no tweets left after skipping blank and neutral rows; pass keep_neutral=True to keep "
            "neutral (polarity 2) rows, or a file that has positive/negative tweets.",
            path=str(root),
        )

    label_array = np.asarray(labels, dtype=np.int64)
    keep, n_dropped, n_conflicts = _first_copies(texts, label_array)
    if n_dropped:
        logger.info(
            "%s: dropped %d duplicate tweets (%d with a conflicting label; the first copy was "
            "kept)",
            root,
            n_dropped,
            n_conflicts,
        )
        texts = [texts[i] for i in keep.tolist()]
        label_array = label_array[keep]
    label_names = LABEL_NAMES_WITH_NEUTRAL if keep_neutral else LABEL_NAMES
    counts = np.bincount(label_array, minlength=len(label_names))
    missing = [name for name, c in zip(label_names[:2], counts[:2], strict=True) if c == 0]
    if missing:
        hint = (
            " (limit reads the first rows of each file, and the original CSV lists all negative "
            "tweets first: load without limit and use .sample(n) for a balanced subset)"
            if limit is not None
            else ""
        )
        logger.warning("%s: no %s tweets%s", root, " or ".join(missing), hint)
    dataset = TextDataset(
        texts=texts, labels=label_array, label_names=label_names, source=str(root)
    )
    logger.info("%s: loaded %r", root, dataset)
    return dataset


def default_data_path() -> pathlib.Path:
    """Where the Sentiment140 data lives when no path is given.

    The environment variable ``CAPTUM_EXT_DATA`` if set; otherwise the first existing
    ``shared/data/sentiment140`` folder found walking up from the current directory, then from
    this package's directory (the project keeps its data in ``../shared`` next to the repository).

    Returns:
        pathlib.Path: An existing file or folder.

    Raises:
        DataError: ``CAPTUM_EXT_DATA`` points nowhere, or no folder was found.

    Examples::

        >>> from captum_ext.data import default_data_path
        >>> (default_data_path() / "positive.txt").is_file()
        True
    """
    env = os.environ.get(ENV_VAR, "").strip()
    if env:
        candidate = pathlib.Path(env).expanduser().absolute()
        if not candidate.exists():
            raise DataError(
                f"{ENV_VAR} points to a path that does not exist; set it to {_ACCEPTED_SHAPES}, "
                "or unset it.",
                path=str(candidate),
            )
        return candidate
    starts = [pathlib.Path.cwd(), pathlib.Path(__file__).resolve().parent]
    for start in starts:
        for folder in (start, *start.parents):
            candidate = folder / _SHARED_SUBDIR
            if candidate.is_dir():
                return candidate
    raise DataError(
        f"no Sentiment140 data found: no {_SHARED_SUBDIR} above {starts[0]} or {starts[1]}; "
        f"pass --data PATH (Python: load_sentiment140(PATH)) or set {ENV_VAR}=PATH, where PATH is "
        f"{_ACCEPTED_SHAPES}."
    )


def _fingerprint(texts: Sequence[str], labels: np.ndarray) -> str:
    # length-prefixed rows, so no text content can fake a row boundary
    rows = "".join(
        f"{label}:{len(text)}:{text}\n" for label, text in zip(labels.tolist(), texts, strict=True)
    )
    digest = hashlib.sha256(rows.encode("utf-8", "surrogatepass")).hexdigest()
    return digest[:16]


def _check_folder(folder: pathlib.Path) -> None:
    missing = [name for name in ("positive.txt", "negative.txt") if not (folder / name).is_file()]
    if not missing:
        return
    csvs = sorted(p.name for p in folder.glob("*.csv"))
    hint = ""
    if csvs:
        which = "that CSV file" if len(csvs) == 1 else "one of these CSV files"
        hint = f"; it holds {', '.join(csvs)}: pass {which} instead"
    raise DataError(
        f"folder has no {' and no '.join(missing)}; a data folder needs positive.txt and "
        f"negative.txt with one tweet a line (UTF-8){hint}. Accepted: {_ACCEPTED_SHAPES}.",
        path=str(folder),
    )


def _read_bytes(file: pathlib.Path) -> bytes:
    data = file.read_bytes()
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    if not data.strip():
        raise DataError(
            f"the file is empty ({len(data)} bytes, no tweets); "
            "re-export it or point to the right file.",
            path=str(file),
        )
    return data


def _encoding_error(file: pathlib.Path, data: bytes, error: UnicodeDecodeError) -> DataError:
    line_start = data.rfind(b"\n", 0, error.start) + 1
    line = data.count(b"\n", 0, error.start) + 1
    return DataError(
        f"not valid UTF-8 (byte 0x{data[error.start]:02x} at column "
        f"{error.start - line_start + 1}); the file is probably latin-1 or cp1252: save it as "
        f"UTF-8, e.g. iconv -f latin1 -t utf-8 {file.name} > utf8-{file.name}",
        path=str(file),
        line=line,
    )


def _read_txt(file: pathlib.Path, limit: int | None) -> list[str]:
    data = _read_bytes(file)
    try:
        content = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise _encoding_error(file, data, error) from None
    lines = content.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the final newline ends the last row, it is no blank row
    texts: list[str] = []
    n_blank = 0
    for line in lines:
        text = line.strip()
        if not text:
            n_blank += 1
            continue
        texts.append(text)
        if limit is not None and len(texts) >= limit:
            break
    logger.info("%s: read %d tweets, skipped %d blank lines", file, len(texts), n_blank)
    return texts


def _read_csv(
    file: pathlib.Path,
    texts: list[str],
    labels: list[int],
    *,
    keep_neutral: bool,
    limit: int | None,
) -> None:
    data = _read_bytes(file)
    try:
        data.decode("utf-8")
        encoding, utf8_error = "utf-8", None
    except UnicodeDecodeError as error:
        encoding, utf8_error = "latin-1", error
    reader = csv.reader(io.TextIOWrapper(io.BytesIO(data), encoding=encoding, newline=""))

    n_columns = 0
    polarity_map: dict[str, int] = {}
    seen_codes: set[str] = set()
    first_line = 0
    n_rows = n_blank = n_neutral = n_empty_text = n_multiline = first_multiline = 0
    line = end_line = 0
    try:
        for row in reader:
            line, end_line = end_line + 1, reader.line_num
            if not row or (len(row) == 1 and not row[0].strip()):
                n_blank += end_line - line + 1
                continue
            if not n_columns:
                n_columns, first_line = len(row), line
                if n_columns not in _SHAPE_NAME:
                    raise DataError(
                        f"the first row has {n_columns} columns; a CSV must be the "
                        f"{_SHAPE_NAME[6]} (latin-1) or a {_SHAPE_NAME[2]} (UTF-8). Convert the "
                        f"file to one of these, or pass {_ACCEPTED_SHAPES}.",
                        path=str(file),
                        line=line,
                    )
                if n_columns == 2 and utf8_error is not None:
                    raise _encoding_error(file, data, utf8_error)
                polarity_map = _SIX_COLUMN_POLARITY if n_columns == 6 else _TWO_COLUMN_POLARITY
                if _is_header(row[0], polarity_map):
                    logger.info("%s: line %d is a header (%s), skipped", file, line, row)
                    continue
            if len(row) != n_columns:
                raise DataError(
                    f"row has {len(row)} columns, expected {n_columns} like line {first_line} "
                    f"({_SHAPE_NAME[n_columns]}); put a text that contains commas in double "
                    'quotes ("like, this"), or fix or delete the row.',
                    path=str(file),
                    line=line,
                )
            polarity = row[0].strip().lower()
            label = polarity_map.get(polarity)
            if label is None:
                raise DataError(
                    f"unknown polarity {row[0]!r} in column 1; accepted: "
                    f"{_ACCEPTED_POLARITY[n_columns]}. Fix or delete the row.",
                    path=str(file),
                    line=line,
                )
            if n_columns == 2:
                seen_codes.add(polarity)
                if {"1", "2"} <= seen_codes:
                    raise DataError(
                        "labels coded 0/1/2 in a polarity,text CSV: 1 could be positive or "
                        "neutral. Give the file a text,label header and pass --label-map (e.g. "
                        "0=negative,1=neutral,2=positive), or write the label names.",
                        path=str(file),
                        line=line,
                    )
            if label == NEUTRAL and not keep_neutral:
                n_neutral += 1
                continue
            text = row[-1].strip()
            if not text:
                n_empty_text += 1
                continue
            if end_line > line:
                n_multiline += 1
                first_multiline = first_multiline or line
            texts.append(text)
            labels.append(label)
            n_rows += 1
            if limit is not None and n_rows >= limit:
                break
    except csv.Error as error:
        raise DataError(
            f"the row starting here cannot be parsed as CSV ({error}); probably an unclosed "
            'double quote: close it, or write a quote inside a text as "".',
            path=str(file),
            line=end_line + 1,
        ) from None

    if not n_columns:
        raise DataError("the file has only blank lines, no tweets.", path=str(file))
    reached_end = limit is None or n_rows < limit
    if end_line > line and reached_end and not data.rstrip().endswith(b'"'):
        # the last row swallowed several lines up to the end of the file: an unclosed quote
        raise DataError(
            f"the row starting here runs over lines {line}-{end_line} to the end of the file: "
            'an unclosed double quote? Close it, or write a quote inside a text as "".',
            path=str(file),
            line=line,
        )
    if n_multiline:
        logger.warning(
            "%s: %d rows span several lines (quoted line breaks, the first on line %d); "
            "check for unclosed double quotes",
            file,
            n_multiline,
            first_multiline,
        )
    logger.info(
        "%s: read %d rows (%s, %s); skipped %d blank lines, %d neutral rows%s, %d empty texts",
        file,
        n_rows,
        _SHAPE_NAME[n_columns],
        encoding,
        n_blank,
        n_neutral,
        "" if keep_neutral else " (keep_neutral=False)",
        n_empty_text,
    )
    if n_rows == 0 and n_neutral == 0 and n_empty_text == 0:
        raise DataError(
            "the file has a header but no rows; add rows below the header.",
            path=str(file),
            line=first_line,
        )


def _is_header(polarity: str, polarity_map: dict[str, int]) -> bool:
    """A first row is a header when its polarity is neither accepted nor a number."""
    value = polarity.strip().lower()
    if value in polarity_map:
        return False
    try:
        float(value)
    except ValueError:
        return True
    return False
