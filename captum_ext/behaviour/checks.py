"""The three CheckList test types (Ribeiro et al. 2020, https://arxiv.org/abs/2005.04118).

- :class:`MFT` (minimum functionality test): each text has an expected label; a case fails when
  the model predicts another label.
- :class:`INV` (invariance): each case is an ``(original, perturbed)`` pair whose perturbation
  should not matter (an @mention, a URL, a typo); a case fails when the predicted label changes,
  or, with ``max_change``, when the probability of the original's predicted class moves by more.
- :class:`DIR` (directional expectation): the perturbation should move the probability of
  ``label`` in ``direction`` (``"up"`` or ``"down"``) by at least ``min_change``; a negative
  ``min_change`` tolerates a move of that size the wrong way (CheckList's
  ``Expect.monotonic(tolerance=...)``), a positive one requires a real move (a model that ignores
  "not" fails "negating a positive statement lowers p(positive) by >= 0.1").

A test holds its cases and evaluates predictions it is given: :func:`captum_ext.behaviour.run_suite`
collects every text of a suite, calls the model once (through the adapter) and hands each test
its probabilities.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from captum_ext.errors import InputError

__all__ = ["DIR", "INV", "MFT", "BehaviourTest", "CaseResult"]


@dataclass
class CaseResult:
    """The outcome of one case.

    Attributes:
        test: the test name.
        index: the case's index in its test.
        passed: whether the model met the expectation.
        texts: the texts of the case (one for MFT; original and perturbed for INV/DIR).
        probs: the model's probabilities for each text.
        expected: what was expected, in words.
        observed: what happened, in words.
        explain_text: the text whose explanation shows the failure (the perturbed one for
            INV/DIR).
        explain_target: the class index to explain.
        meta: the template slots that generated the case.
    """

    test: str
    index: int
    passed: bool
    texts: list[str]
    probs: list[list[float]]
    expected: str
    observed: str
    explain_text: str
    explain_target: int
    meta: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "test": self.test,
            "index": self.index,
            "passed": self.passed,
            "texts": self.texts,
            "probs": self.probs,
            "expected": self.expected,
            "observed": self.observed,
            "explain_text": self.explain_text,
            "explain_target": self.explain_target,
            "meta": self.meta,
        }


class BehaviourTest:
    """Base class: a named test of one capability with generated cases.

    Args:
        name (str): unique name in its suite, e.g. ``"negation.insert_not"``.
        capability (str): what it probes (``"vocabulary"``, ``"negation"``, ``"robustness"``).
        description (str): one sentence for the report.
        meta (list of dict, optional): the template slots of each case. Default: none
    """

    test_type: str = "?"

    def __init__(
        self,
        name: str,
        capability: str,
        description: str,
        meta: Sequence[dict[str, Any]] | None = None,
    ) -> None:
        self.name = name
        self.capability = capability
        self.description = description
        self.meta = list(meta) if meta is not None else []

    def __len__(self) -> int:
        raise NotImplementedError

    def texts(self) -> list[str]:
        """Every text the test needs predictions for."""
        raise NotImplementedError

    def evaluate(self, probs: dict[str, np.ndarray], labels: Sequence[str]) -> list[CaseResult]:
        """Results of every case given ``probs[text] -> (n_classes,)``."""
        raise NotImplementedError

    def _meta(self, i: int) -> dict[str, Any]:
        return dict(self.meta[i]) if i < len(self.meta) else {}

    def summary(self) -> dict[str, Any]:
        return {
            "test": self.name,
            "capability": self.capability,
            "type": self.test_type,
            "description": self.description,
            "n_cases": len(self),
        }


def _label_index(label: int | str, labels: Sequence[str]) -> int:
    """The model class of an expected label: an index, or a name asked of the label model
    (class name, sentiment alias or ``--label-map``; ``labels`` may be a
    :class:`~captum_ext.labels.LabelModel`)."""
    if isinstance(label, str):
        from captum_ext.labels import LabelModel

        lm = labels if isinstance(labels, LabelModel) else LabelModel(labels)
        return lm.concept(label)
    if not 0 <= int(label) < len(labels):
        raise InputError(f"label {label} is out of range for labels {list(labels)}.")
    return int(label)


def _fmt(p: np.ndarray, labels: Sequence[str]) -> str:
    k = int(np.argmax(p))
    return f"{labels[k]} ({p[k]:.2f})"


class MFT(BehaviourTest):
    """Minimum functionality test: each text must be predicted as its expected label.

    Args:
        name, capability, description: see :class:`BehaviourTest`.
        texts (list of str): the cases.
        expected (list of int or str): the expected label of each text (index or name).
        meta (list of dict, optional): template slots per case.

    Examples::

        >>> t = MFT("vocab.pos", "vocabulary", "positive adjectives", ["a great day"], ["positive"])
        >>> len(t), t.test_type
        (1, 'MFT')
    """

    test_type = "MFT"

    def __init__(
        self,
        name: str,
        capability: str,
        description: str,
        texts: Sequence[str],
        expected: Sequence[int | str],
        meta: Sequence[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(name, capability, description, meta)
        if len(texts) != len(expected):
            raise InputError(f"{name}: {len(texts)} texts but {len(expected)} expected labels.")
        self.cases = list(texts)
        self.expected = list(expected)

    def __len__(self) -> int:
        return len(self.cases)

    def texts(self) -> list[str]:
        return list(self.cases)

    def evaluate(self, probs: dict[str, np.ndarray], labels: Sequence[str]) -> list[CaseResult]:
        out = []
        for i, (text, exp) in enumerate(zip(self.cases, self.expected, strict=True)):
            p = probs[text]
            k = _label_index(exp, labels)
            pred = int(np.argmax(p))
            out.append(
                CaseResult(
                    test=self.name,
                    index=i,
                    passed=pred == k,
                    texts=[text],
                    probs=[p.tolist()],
                    expected=labels[k],
                    observed=_fmt(p, labels),
                    explain_text=text,
                    explain_target=pred,
                    meta=self._meta(i),
                )
            )
        return out


class _PairTest(BehaviourTest):
    def __init__(
        self,
        name: str,
        capability: str,
        description: str,
        pairs: Sequence[tuple[str, str]],
        meta: Sequence[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(name, capability, description, meta)
        self.pairs = [(str(a), str(b)) for a, b in pairs]

    def __len__(self) -> int:
        return len(self.pairs)

    def texts(self) -> list[str]:
        return [t for pair in self.pairs for t in pair]

    def _judge(
        self, pa: np.ndarray, pb: np.ndarray, labels: Sequence[str]
    ) -> tuple[bool, str, str, int]:
        """``(passed, expected, observed, class to explain)`` of one pair's probabilities."""
        raise NotImplementedError

    def evaluate(self, probs: dict[str, np.ndarray], labels: Sequence[str]) -> list[CaseResult]:
        out = []
        for i, (a, b) in enumerate(self.pairs):
            pa, pb = probs[a], probs[b]
            passed, expected, observed, target = self._judge(pa, pb, labels)
            out.append(
                CaseResult(
                    test=self.name,
                    index=i,
                    passed=passed,
                    texts=[a, b],
                    probs=[pa.tolist(), pb.tolist()],
                    expected=expected,
                    observed=observed,
                    explain_text=b,  # the perturbed text: what the model got wrong
                    explain_target=target,
                    meta=self._meta(i),
                )
            )
        return out


class INV(_PairTest):
    """Invariance test: the perturbed text must keep the original's predicted label.

    Args:
        name, capability, description: see :class:`BehaviourTest`.
        pairs (list of (str, str)): ``(original, perturbed)`` texts.
        max_change (float, optional): also fail when the probability of the original's predicted
            class moves by more than this. Default: None (label change only, as CheckList)
        meta (list of dict, optional): template slots per case.
    """

    test_type = "INV"

    def __init__(
        self,
        name: str,
        capability: str,
        description: str,
        pairs: Sequence[tuple[str, str]],
        *,
        max_change: float | None = None,
        meta: Sequence[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(name, capability, description, pairs, meta)
        self.max_change = max_change

    def _judge(
        self, pa: np.ndarray, pb: np.ndarray, labels: Sequence[str]
    ) -> tuple[bool, str, str, int]:
        ka, kb = int(np.argmax(pa)), int(np.argmax(pb))
        change = float(pb[ka] - pa[ka])
        passed = ka == kb and (self.max_change is None or abs(change) <= self.max_change)
        expected = f"same prediction as the original: {labels[ka]}"
        if self.max_change is not None:
            expected += f", p({labels[ka]}) within ±{self.max_change:g}"
        observed = f"{_fmt(pb, labels)}; p({labels[ka]}) changed by {change:+.3f}"
        return passed, expected, observed, kb


class DIR(_PairTest):
    """Directional expectation test: the perturbation moves ``p(label)`` in ``direction``.

    Args:
        name, capability, description: see :class:`BehaviourTest`.
        pairs (list of (str, str)): ``(original, perturbed)`` texts.
        label (int or str): the class whose probability is tracked.
        direction (str): ``"up"`` or ``"down"``.
        min_change (float, optional): the move required in ``direction``; negative values
            tolerate a move of that size the wrong way. Default: 0.0
        meta (list of dict, optional): template slots per case.
    """

    test_type = "DIR"

    def __init__(
        self,
        name: str,
        capability: str,
        description: str,
        pairs: Sequence[tuple[str, str]],
        *,
        label: int | str,
        direction: str,
        min_change: float = 0.0,
        meta: Sequence[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(name, capability, description, pairs, meta)
        if direction not in ("up", "down"):
            raise InputError(f"direction must be 'up' or 'down', got {direction!r}.")
        self.label = label
        self.direction = direction
        self.min_change = float(min_change)

    def _judge(
        self, pa: np.ndarray, pb: np.ndarray, labels: Sequence[str]
    ) -> tuple[bool, str, str, int]:
        k = _label_index(self.label, labels)
        sign = 1.0 if self.direction == "up" else -1.0
        change = float(pb[k] - pa[k])
        if self.min_change >= 0:
            expected = f"p({labels[k]}) {self.direction} by >= {self.min_change:g}"
        else:
            wrong_way = "down" if sign > 0 else "up"
            expected = f"p({labels[k]}) not {wrong_way} by more than {-self.min_change:g}"
        observed = f"p({labels[k]}) {pa[k]:.3f} -> {pb[k]:.3f} ({change:+.3f})"
        return sign * change >= self.min_change, expected, observed, k

    def summary(self) -> dict[str, Any]:
        return {
            **super().summary(),
            "label": self.label,
            "direction": self.direction,
            "min_change": self.min_change,
        }
