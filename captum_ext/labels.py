"""One label model: the model's ``id2label`` is the truth; data labels are mapped onto it by name.

A model's class *i* is what its ``config.id2label[i]`` says, never what a data file's label
number happens to be. :class:`LabelModel` answers the two questions every command asks:

* *which class is this data label?* (:meth:`LabelModel.class_index`, :meth:`LabelModel.align`): by an
  explicit label map (``--label-map negative=0,positive=1``, or the same as a JSON object), by the
  class name (case-insensitive), or by a sentiment alias (``neg``/``negative``,
  ``neu``/``neutral``, ``pos``/``positive``); a label that none of these maps is an
  :class:`~captum_ext.errors.InputError`, never a guess;
* *which class is positive / negative / neutral?* (:meth:`LabelModel.concept`): the same rules,
  with an error naming ``--label-map`` when the model has no such class (``LABEL_0``/``LABEL_1``).

Sentiment140's polarity codes (0 = negative, 2 = neutral, 4 = positive) are aliases of data labels
only (:func:`canonical_label` with ``codes=True``): a model class named ``"0"`` is not taken to be
negative.

Examples::

    >>> from captum_ext.labels import LabelModel
    >>> lm = LabelModel(("positive", "negative"))       # a model with its rows swapped
    >>> lm.concept("positive"), lm.class_index("neg")
    (0, 1)
    >>> lm.align_indices(("negative", "positive")).tolist()   # data label i -> model class
    [1, 0]
    >>> generic = LabelModel(("LABEL_0", "LABEL_1"), label_map="negative=0,positive=LABEL_1")
    >>> generic.concept("positive"), generic.class_index("Negative")
    (1, 0)
    >>> LabelModel(("LABEL_0", "LABEL_1")).concept("positive")
    Traceback (most recent call last):
    ...
    captum_ext.errors.InputError: the model has no positive class (its classes: LABEL_0, LABEL_1): say which class it is with --label-map positive=CLASS (a class name or index), e.g. --label-map negative=0,positive=1.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from captum_ext.errors import InputError

if TYPE_CHECKING:
    from captum_ext.data import TextDataset

__all__ = [
    "CONCEPTS",
    "LABEL_MAP_FORM",
    "POLARITY_CODES",
    "LabelModel",
    "canonical_label",
    "load_for_model",
    "parse_label_map",
]

#: sentiment concept -> the names (lower-cased) that mean it
CONCEPTS: dict[str, tuple[str, ...]] = {
    "negative": ("negative", "neg"),
    "neutral": ("neutral", "neu"),
    "positive": ("positive", "pos"),
}
#: Sentiment140's polarity codes, aliases of *data* labels only
POLARITY_CODES: dict[str, str] = {"0": "negative", "2": "neutral", "4": "positive"}
_ALIAS = {alias: concept for concept, aliases in CONCEPTS.items() for alias in aliases}


def canonical_label(name: Any, *, codes: bool = False) -> str | None:
    """The sentiment concept a label name stands for (``"negative"``, ``"neutral"``,
    ``"positive"``), or None.

    Args:
        name: a label name (any case, surrounding spaces ignored).
        codes (bool, optional): also read Sentiment140's polarity codes 0/2/4 (data labels
            only). Default: False

    Examples::

        >>> from captum_ext.labels import canonical_label
        >>> canonical_label(" POS"), canonical_label("LABEL_1"), canonical_label("4", codes=True)
        ('positive', None, 'positive')
    """
    key = str(name).strip().lower()
    if codes and key in POLARITY_CODES:
        return POLARITY_CODES[key]
    return _ALIAS.get(key)


#: the accepted forms of ``--label-map``, quoted by every error about one
LABEL_MAP_FORM = (
    "DATA=CLASS pairs such as negative=0,positive=1 (CLASS a class name or index), or a JSON "
    'object such as {"negative": 0, "positive": 1}, inline or in a .json file'
)


def _bad_map(problem: str) -> InputError:
    return InputError(f"--label-map {problem}: write {LABEL_MAP_FORM}.")


def parse_label_map(spec: str | Mapping[str, Any] | None) -> dict[str, str]:
    """Parse ``--label-map``: ``"negative=0,positive=1"``, a JSON object, or a ``.json`` file.

    Keys are data labels (or the concepts negative/neutral/positive), values the model's classes
    (a class name or index). Returned keys are stripped and lower-cased, values stripped strings.

    Raises:
        InputError: anything else (one line naming ``--label-map`` and its accepted forms):
            an entry without ``=`` or with two, an empty label or class, invalid JSON or JSON
            that is not an object of names/indices, a ``.json`` file that is missing or
            unreadable, a label given twice, or no entry at all.

    Examples::

        >>> from captum_ext.labels import parse_label_map
        >>> parse_label_map("Neg=0, pos=LABEL_1")
        {'neg': '0', 'pos': 'LABEL_1'}
        >>> parse_label_map('{"negative": 0, "positive": 1}')
        {'negative': '0', 'positive': '1'}
        >>> parse_label_map("garbage")
        Traceback (most recent call last):
        ...
        captum_ext.errors.InputError: --label-map entry 'garbage' is not DATA=CLASS: write DATA=CLASS pairs such as negative=0,positive=1 (CLASS a class name or index), or a JSON object such as {"negative": 0, "positive": 1}, inline or in a .json file.
    """
    if spec is None:
        return {}
    raw: Any = spec
    if isinstance(spec, str):
        text = spec.strip()
        if text.lower().endswith(".json") and "=" not in text and not text.startswith("{"):
            file = Path(text).expanduser()
            try:
                text = file.read_text(encoding="utf-8").strip()
            except (OSError, UnicodeDecodeError) as e:
                reason = e.strerror if isinstance(e, OSError) and e.strerror else type(e).__name__
                raise _bad_map(f"file {spec!r} cannot be read ({reason})") from None
            if not text.startswith("{"):
                raise _bad_map(f"file {spec!r} does not hold a JSON object")
        if text.startswith(("{", "[")):
            try:
                raw = json.loads(text)
            except ValueError as e:
                raise _bad_map(f"is not valid JSON ({e})") from None
        else:
            raw = {}
            for part in (p.strip() for p in text.split(",")):
                if not part:
                    continue
                key, sep, value = part.partition("=")
                if not sep or not key.strip() or not value.strip() or "=" in value:
                    raise _bad_map(f"entry {part!r} is not DATA=CLASS")
                if key.strip().lower() in {k.strip().lower() for k in raw}:
                    raise _bad_map(f"gives {key.strip()!r} twice")
                raw[key] = value
    if not isinstance(raw, Mapping):
        raise _bad_map(
            f"must be an object mapping data labels to classes, got {type(raw).__name__}"
        )
    if not raw:
        raise _bad_map("maps no label")
    out: dict[str, str] = {}
    for key, value in raw.items():
        if isinstance(value, bool) or not isinstance(value, (str, int)) or not str(value).strip():
            raise _bad_map(f"value of {key!r} must be a class name or index, got {value!r}")
        k = str(key).strip().lower()
        if not k:
            raise _bad_map(f"has an empty data label (mapped to {value!r})")
        if k in out and out[k] != str(value).strip():
            raise _bad_map(f"maps {key!r} twice")
        out[k] = str(value).strip()
    return out


class LabelModel(Sequence[str]):
    """The classes of a model (its ``id2label``, in index order) and how data labels map onto them.

    A sequence of the class names (``lm[i]``, ``len(lm)``), so it can stand wherever the model's
    labels are expected.

    Args:
        labels (sequence of str): the model's class names, class 0 first (``adapter.labels``).
        label_map (str or mapping, optional): explicit data label -> class (name or index), as
            :func:`parse_label_map` reads it. Default: None

    Raises:
        InputError: a label map value that is no class of the model.
    """

    def __init__(
        self, labels: Sequence[str], label_map: str | Mapping[str, Any] | None = None
    ) -> None:
        self.labels: tuple[str, ...] = tuple(str(lab) for lab in labels)
        if not self.labels:
            raise InputError("a model needs at least one class label.")
        self._lower = [lab.strip().lower() for lab in self.labels]
        #: the map as given (data label -> class name or index, keys lower-cased)
        self.spec: dict[str, str] = parse_label_map(label_map)
        self.label_map: dict[str, int] = {
            key: self._class_of(value, key) for key, value in self.spec.items()
        }

    @classmethod
    def of(cls, adapter: Any, label_map: str | Mapping[str, Any] | None = None) -> LabelModel:
        """The label model of an adapter (or anything with ``.labels``)."""
        return cls(adapter.labels, label_map)

    # -- Sequence ---------------------------------------------------------------------------
    def __getitem__(self, i: Any) -> Any:
        return self.labels[i]

    def __len__(self) -> int:
        return len(self.labels)

    def __iter__(self) -> Iterator[str]:
        return iter(self.labels)

    def __repr__(self) -> str:
        extra = f", label_map={self.label_map}" if self.label_map else ""
        return f"LabelModel({self.labels}{extra})"

    # -- lookups ----------------------------------------------------------------------------
    def _class_of(self, value: str, key: str) -> int:
        v = value.strip().lower()
        if v in self._lower:
            return self._lower.index(v)
        if re.fullmatch(r"\d+", v) and int(v) < len(self.labels):
            return int(v)
        raise InputError(
            f"--label-map {key}={value}: {value!r} is not a class of the model; use one of "
            f"{', '.join(self.labels)} or an index 0..{len(self.labels) - 1}."
        )

    def find(self, name: Any, *, codes: bool = True) -> int | None:
        """The class of a data label or concept name, or None when nothing maps it.

        Order: the label map (by the name, then by its concept), the class name
        (case-insensitive), then the one class whose name has the same sentiment concept.
        ``codes``: read Sentiment140's polarity codes 0/2/4 as concepts (data labels).
        """
        key = str(name).strip().lower()
        concept = canonical_label(key, codes=codes)
        if key in self.label_map:
            return self.label_map[key]
        if concept is not None:
            for alias in CONCEPTS[concept]:
                if alias in self.label_map:
                    return self.label_map[alias]
        if key in self._lower:
            return self._lower.index(key)
        if concept is None:
            return None
        hits = [i for i, lab in enumerate(self.labels) if canonical_label(lab) == concept]
        if len(hits) > 1:
            raise InputError(
                f"the model has several {concept} classes ({', '.join(self.labels[i] for i in hits)}):"
                f" say which one {name!r} is with --label-map {key}=CLASS."
            )
        return hits[0] if hits else None

    def has(self, name: str) -> bool:
        """Whether ``name`` (a data label or concept) maps to a class."""
        return self.find(name) is not None

    def class_index(self, name: Any) -> int:
        """The class of a data label (or concept) name; :class:`InputError` when none maps it."""
        i = self.find(name)
        if i is None:
            raise InputError(
                f"data label {str(name)!r} matches no class of the model (its classes: "
                f"{', '.join(self.labels)}): map it with --label-map {str(name).strip()}=CLASS "
                "(a class name or index), e.g. --label-map negative=0,positive=1."
            )
        return i

    def concept(self, name: str) -> int:
        """The class that is ``"positive"``, ``"negative"`` or ``"neutral"`` (or any other name).

        Raises:
            InputError: the model has no such class; the message says how to name it.
        """
        i = self.find(name, codes=False)
        if i is None:
            raise InputError(
                f"the model has no {name} class (its classes: {', '.join(self.labels)}): say "
                f"which class it is with --label-map {name}=CLASS (a class name or index), e.g. "
                "--label-map negative=0,positive=1."
            )
        return i

    # -- datasets ---------------------------------------------------------------------------
    def align_indices(self, data_labels: Sequence[str], present: Any = None) -> np.ndarray:
        """Model class of each data label name (``-1`` for names not in ``present``).

        Args:
            data_labels (sequence of str): a dataset's ``label_names``.
            present (array of int, optional): the data label indices that occur; only they
                must map. Default: None (all must map)

        Raises:
            InputError: a data label that occurs and maps to no class (the message lists them
                and the fix).
        """
        used = set(range(len(data_labels))) if present is None else set(np.unique(present).tolist())
        out = np.full(len(data_labels), -1, dtype=np.int64)
        missing: list[str] = []
        for j, name in enumerate(data_labels):
            i = self.find(name)
            if i is not None:
                out[j] = i
            elif j in used:
                missing.append(str(name))
        if missing:
            example = ",".join(f"{m}=CLASS" for m in missing)
            raise InputError(
                f"the data's label{'s' if len(missing) > 1 else ''} {', '.join(map(repr, missing))}"
                f" match{'' if len(missing) > 1 else 'es'} no class of the model (its classes: "
                f"{', '.join(self.labels)}): map {'them' if len(missing) > 1 else 'it'} with "
                f"--label-map {example} (CLASS: a class "
                "name or index), or use data with the model's labels."
            )
        return out

    def align(self, dataset: TextDataset) -> TextDataset:
        """``dataset`` with its labels as this model's class indices and the model's label names.

        Examples::

            >>> from captum_ext.data import TextDataset
            >>> from captum_ext.labels import LabelModel
            >>> ds = TextDataset(["good", "bad"], [1, 0], ("negative", "positive"))
            >>> aligned = LabelModel(("POSITIVE", "NEGATIVE")).align(ds)
            >>> aligned.labels.tolist(), aligned.label_names
            ([0, 1], ('POSITIVE', 'NEGATIVE'))
        """
        from captum_ext.data import TextDataset

        if tuple(dataset.label_names) == self.labels and not self.label_map:
            return dataset
        mapping = self.align_indices(dataset.label_names, dataset.labels)
        return TextDataset(
            texts=list(dataset.texts),
            labels=mapping[dataset.labels] if len(dataset) else dataset.labels,
            label_names=self.labels,
            source=dataset.source,
        )


def load_for_model(
    path: str | os.PathLike[str],
    label_model: LabelModel,
    *,
    align: bool = True,
) -> TextDataset:
    """Read labelled texts (:func:`captum_ext.data.load_dataset`) for a model.

    Neutral rows are kept when the model has a neutral class, else dropped (as the loader does).
    Every label that occurs must map onto a class (else :class:`InputError`). With ``align``
    the labels become the model's class indices; without, the data keeps its own label order
    (sample it first, then :meth:`LabelModel.align`, so that the sample does not depend on the
    model's class order).
    """
    from captum_ext.data import load_dataset

    ds = load_dataset(
        path, keep_neutral=label_model.has("neutral"), label_map=label_model.spec or None
    )
    if not align:
        label_model.align_indices(ds.label_names, ds.labels)  # every label maps
        return ds
    return label_model.align(ds)
