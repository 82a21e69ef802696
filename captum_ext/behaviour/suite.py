"""Behavioural test suites: run them through the adapter, report failure rates, explain failures.

:func:`run_suite` gathers the texts of every test of a :class:`Suite`, predicts them in one batched
call of the adapter (identical texts once), lets each test judge its cases, and explains every
failed case with a registered method (Integrated Gradients by default, via
``make_explainer(name, adapter)``): which words the model used when it failed. The
:class:`SuiteResult` gives per-test failure rates as a data frame, the failures with their
explanations, a JSON dump and an escaped HTML report where each failure links to its explanation.

Examples::

    >>> from captum_ext.adapters import TextClassifierAdapter
    >>> from captum_ext.behaviour import default_suite, run_suite
    >>> adapter = TextClassifierAdapter.from_pretrained()  # doctest: +SKIP
    >>> result = run_suite(adapter, default_suite(size=10), max_explanations=2)  # doctest: +SKIP
    >>> result.summary()[["test", "type", "n_cases", "failure_rate"]].head(3)  # doctest: +SKIP
                test type  n_cases  failure_rate
    0  vocab.pos_adj  MFT       10           0.0
    1  vocab.neg_adj  MFT       10           0.0
    2    vocab.verbs  MFT       10           0.0
    >>> sorted(result.save("behaviour/"))  # the files written  # doctest: +SKIP
    ['failures', 'html', 'json', 'plot', 'rates']
"""

from __future__ import annotations

import html
import json
import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from captum_ext.behaviour.checks import DIR, INV, MFT, BehaviourTest, CaseResult
from captum_ext.behaviour.templates import LEXICON, add_mention, add_typo, add_url, expand
from captum_ext.errors import InputError
from captum_ext.validation import check_scalar

__all__ = ["SUITES", "Suite", "SuiteResult", "default_suite", "get_suite", "run_suite"]


@dataclass
class Suite:
    """A named list of behavioural tests.

    Examples::

        >>> from captum_ext.behaviour import MFT, Suite
        >>> s = Suite("mine", [MFT("t", "vocabulary", "d", ["so good"], ["positive"])])
        >>> s.n_cases
        1
    """

    name: str
    tests: list[BehaviourTest]

    def __post_init__(self) -> None:
        names = [t.name for t in self.tests]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise InputError(f"suite {self.name!r} has tests with the same name: {sorted(dup)}.")

    @property
    def n_cases(self) -> int:
        return sum(len(t) for t in self.tests)

    def summary(self) -> pd.DataFrame:
        """One row per test: name, capability, type, description, number of cases."""
        return pd.DataFrame([t.summary() for t in self.tests])


@dataclass
class SuiteResult:
    """Outcome of a suite run.

    Attributes:
        suite: the suite's name.
        tests: the per-test summaries (with ``n_failures`` and ``failure_rate``).
        cases: every case's :class:`~captum_ext.behaviour.checks.CaseResult`.
        explanations: failure id (``"test#index"``) → the public JSON of its explanation.
        explain_method: the registry name of the explaining method (None: not explained).
        labels: the model's class names.
        seconds: wall time of prediction and explanation.
    """

    suite: str
    tests: list[dict[str, Any]]
    cases: list[CaseResult]
    explanations: dict[str, dict[str, Any]] = field(default_factory=dict)
    explain_method: str | None = None
    labels: tuple[str, ...] = ()
    seconds: dict[str, float] = field(default_factory=dict)
    _attributions: dict[str, Any] = field(default_factory=dict, repr=False)

    def summary(self) -> pd.DataFrame:
        """Per test: ``test``, ``capability``, ``type``, ``n_cases``, ``n_failures``,
        ``failure_rate``, ``description``."""
        cols = ["test", "capability", "type", "n_cases", "n_failures", "failure_rate"]
        df = pd.DataFrame(self.tests)
        return df[cols + [c for c in df.columns if c not in cols]]

    def failures(self) -> pd.DataFrame:
        """One row per failed case: ``id``, ``test``, texts, expected, observed and the top words
        of its explanation (``top_words``)."""
        rows = []
        for c in self.cases:
            if c.passed:
                continue
            fid = f"{c.test}#{c.index}"
            exp = self.explanations.get(fid)
            top = ""
            if exp is not None:
                words = sorted(exp["words"], key=lambda w: -abs(w["score"]))[:3]
                top = ", ".join(f"{w['word']} ({w['score']:+.2f})" for w in words)
            rows.append(
                {
                    "id": fid,
                    "test": c.test,
                    "original": c.texts[0],
                    "perturbed": c.texts[1] if len(c.texts) > 1 else None,
                    "expected": c.expected,
                    "observed": c.observed,
                    "explained_text": c.explain_text,
                    "explained_target": self.labels[c.explain_target] if self.labels else None,
                    "top_words": top,
                }
            )
        return pd.DataFrame(rows)

    @property
    def n_cases(self) -> int:
        return len(self.cases)

    def to_dict(self) -> dict[str, Any]:
        return {
            "suite": self.suite,
            "labels": list(self.labels),
            "n_cases": self.n_cases,
            "n_failures": sum(not c.passed for c in self.cases),
            "explain_method": self.explain_method,
            "seconds": self.seconds,
            "tests": self.tests,
            "failures": [
                {
                    **c.to_dict(),
                    "id": f"{c.test}#{c.index}",
                    "explanation": self.explanations.get(f"{c.test}#{c.index}"),
                }
                for c in self.cases
                if not c.passed
            ],
        }

    def plot(self, path: str | os.PathLike | None = None) -> Any:
        """Horizontal bars of the failure rate of each test, coloured by test type."""
        from captum_ext.internals._plotting import pyplot, save_figure

        plt = pyplot()
        df = self.summary()
        colors = {"MFT": "C0", "INV": "C1", "DIR": "C2"}
        fig, ax = plt.subplots(figsize=(8, 0.35 * len(df) + 1.2))
        ax.barh(
            df["test"][::-1],
            df["failure_rate"][::-1],
            color=[colors.get(t, "C7") for t in df["type"][::-1]],
        )
        for y, (rate, n) in enumerate(
            zip(df["failure_rate"][::-1], df["n_cases"][::-1], strict=True)
        ):
            ax.text(rate + 0.01, y, f"{rate:.0%} of {n}", va="center", fontsize=8)
        ax.set_xlim(0, 1.15)
        ax.set_xlabel("failure rate")
        handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in colors.values()]
        ax.legend(handles, list(colors), fontsize=8, loc="lower right")
        ax.set_title(f"behavioural suite '{self.suite}'", fontsize=10)
        fig.tight_layout()
        if path is not None:
            save_figure(fig, path)
        return fig

    def to_html(self, *, max_failures_per_test: int | None = None) -> str:
        """An HTML report: the failure-rate table, then each failure with its explanation.

        Every text is escaped; the page has no scripts and no external resources. Each table row
        links to its test's failures and each failure has an anchor (``#fail-<test>-<index>``).
        """
        from captum_ext.result import WordAttribution
        from captum_ext.viz import attribution_html, html_page

        esc = html.escape
        rows = []
        for t in self.tests:
            anchor = f"test-{t['test']}"
            rows.append(
                "<tr>"
                f'<td><a href="#{esc(anchor)}">{esc(t["test"])}</a></td>'
                f"<td>{esc(t['capability'])}</td><td>{esc(t['type'])}</td>"
                f"<td style='text-align:right'>{t['n_cases']}</td>"
                f"<td style='text-align:right'>{t['n_failures']}</td>"
                f"<td style='text-align:right'>{t['failure_rate']:.1%}</td>"
                f"<td>{esc(t['description'])}</td></tr>"
            )
        table = (
            "<table style='border-collapse:collapse' cellpadding='4' border='1'>"
            "<tr><th>test</th><th>capability</th><th>type</th><th>cases</th><th>failures</th>"
            "<th>failure rate</th><th>description</th></tr>" + "".join(rows) + "</table>"
        )
        n_fail = sum(not c.passed for c in self.cases)
        method = esc(self.explain_method or "none")
        parts = [
            f"<h1>Behavioural suite {esc(self.suite)}</h1>",
            f"<p>{self.n_cases} cases, {n_fail} failures. Each failure is explained with "
            f"<b>{method}</b> (the words the model used for the class shown; green pushes towards "
            "it, red away).</p>",
            table,
        ]
        by_test: dict[str, list[CaseResult]] = {}
        for c in self.cases:
            if not c.passed:
                by_test.setdefault(c.test, []).append(c)
        for t in self.tests:
            fails = by_test.get(t["test"], [])
            parts.append(
                f'<h2 id="{esc("test-" + t["test"])}">{esc(t["test"])} ({esc(t["type"])}): '
                f"{len(fails)} of {t['n_cases']} failed</h2><p>{esc(t['description'])}</p>"
            )
            shown = fails if max_failures_per_test is None else fails[:max_failures_per_test]
            for c in shown:
                fid = f"{c.test}#{c.index}"
                block = [f'<div id="{esc(f"fail-{c.test}-{c.index}")}" style="margin:10px 0;">']
                if len(c.texts) > 1:
                    block.append(f"<div>original: {esc(c.texts[0])}</div>")
                    block.append(f"<div>perturbed: {esc(c.texts[1])}</div>")
                else:
                    block.append(f"<div>text: {esc(c.texts[0])}</div>")
                block.append(
                    f"<div>expected: {esc(c.expected)} · observed: {esc(c.observed)}</div>"
                )
                wa = self._attributions.get(fid)
                if wa is None and fid in self.explanations:
                    wa = _from_public(self.explanations[fid], self.labels)
                if isinstance(wa, WordAttribution):
                    block.append(attribution_html(wa, legend=False))
                block.append("</div>")
                parts.append("".join(block))
            if len(shown) < len(fails):
                parts.append(f"<p>... and {len(fails) - len(shown)} more (see results.json).</p>")
        return html_page("\n".join(parts), title=f"behavioural suite {self.suite}")

    def save(self, out_dir: str | os.PathLike, *, fmt: str = "png") -> dict[str, Path]:
        """Write ``results.json``, ``failure_rates.csv``, ``failures.csv``, ``report.html`` and
        ``failure_rates.{fmt}`` to ``out_dir``."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        files = {
            "json": out / "results.json",
            "rates": out / "failure_rates.csv",
            "failures": out / "failures.csv",
            "html": out / "report.html",
            "plot": out / f"failure_rates.{fmt}",
        }
        files["json"].write_text(json.dumps(self.to_dict(), indent=1), encoding="utf-8")
        self.summary().to_csv(files["rates"], index=False)
        self.failures().to_csv(files["failures"], index=False)
        files["html"].write_text(self.to_html(), encoding="utf-8")
        self.plot(files["plot"])
        return files


def _from_public(d: dict[str, Any], labels: Sequence[str]) -> Any:
    from captum_ext.result import WordAttribution

    target = list(labels).index(d["target"]) if d.get("target") in labels else 0
    probs = np.asarray([d["prediction"]["probs"][lab] for lab in labels])
    return WordAttribution(
        text=d["text"],
        words=[w["word"] for w in d["words"]],
        spans=[(w["start"], w["end"]) for w in d["words"]],
        scores=np.asarray([w["score"] for w in d["words"]], dtype=float),
        target=target,
        labels=tuple(labels),
        probs=probs,
        method=d["method"],
    )


def run_suite(
    adapter: Any,
    suite: Suite,
    *,
    explain: str | None = "ig",
    explain_settings: dict[str, Any] | None = None,
    max_explanations: int | None = None,
    random_state: int = 0,
    show_progress: bool = False,
    label_map: str | dict[str, Any] | None = None,
) -> SuiteResult:
    """Run every test of ``suite`` and explain each failure.

    Expected labels are names asked of the model's :class:`~captum_ext.labels.LabelModel`:
    ``"positive"`` is the model's class named positive (or pos, or what ``label_map`` says), so
    the suite runs on any label order and any number of classes.

    Args:
        adapter (TextClassifierAdapter): the model wrapper.
        suite (Suite): the tests, e.g. :func:`default_suite`.
        explain (str, optional): registry name of the method that explains failures (``None``:
            no explanations). Default: ``"ig"``
        explain_settings (dict, optional): settings of that method. Default: ``{"n_steps": 20}``
            for ``"ig"``, none otherwise
        max_explanations (int, optional): explain at most this many failures (the first of each
            test first, round-robin over tests). Default: None (all)
        random_state (int, optional): seed of stochastic explainers. Default: 0
        show_progress (bool, optional): progress bars. Default: False
        label_map (str or dict, optional): which class is positive/negative/neutral when the
            model's label names do not say it, e.g. ``"negative=0,positive=1"``. Default: None

    Returns:
        SuiteResult

    Raises:
        InputError: a test expects a class the model has no name for (``LABEL_0``/``LABEL_1``
            without ``label_map``).
    """
    from captum_ext.labels import LabelModel

    if not suite.tests:
        raise InputError(f"suite {suite.name!r} has no tests.")
    t0 = time.perf_counter()
    texts = list(dict.fromkeys(t for test in suite.tests for t in test.texts()))
    probs_arr = adapter.predict_proba(texts, show_progress=show_progress)
    probs = {t: probs_arr[i] for i, t in enumerate(texts)}
    labels = tuple(adapter.labels)
    label_model = LabelModel(labels, label_map)
    cases: list[CaseResult] = []
    summaries = []
    for test in suite.tests:
        res = test.evaluate(probs, label_model)
        n_fail = sum(not c.passed for c in res)
        summaries.append(
            {
                **test.summary(),
                "n_failures": n_fail,
                "failure_rate": n_fail / len(res) if res else float("nan"),
            }
        )
        cases.extend(res)
    seconds = {"predict": time.perf_counter() - t0}
    result = SuiteResult(
        suite=suite.name, tests=summaries, cases=cases, labels=labels, seconds=seconds
    )
    if explain is None:
        return result
    from captum_ext.methods import make_explainer

    settings = dict(explain_settings or ({"n_steps": 20} if explain == "ig" else {}))
    explainer = make_explainer(explain, adapter, **settings)
    failed = _round_robin([c for c in cases if not c.passed])
    if max_explanations is not None:
        failed = failed[:max_explanations]
    t1 = time.perf_counter()
    # one explanation per distinct (text, target): repeated failing texts are explained once
    unique: dict[tuple[str, int], Any] = {}
    it: Iterable[CaseResult] = failed
    if show_progress:
        from tqdm.auto import tqdm

        it = tqdm(failed, desc=f"explaining failures ({explain})", unit="case")
    for c in it:
        key = (c.explain_text, c.explain_target)
        if key not in unique:
            unique[key] = explainer.explain(
                c.explain_text, target=c.explain_target, random_state=random_state
            )
        wa = unique[key]
        fid = f"{c.test}#{c.index}"
        result._attributions[fid] = wa
        result.explanations[fid] = wa.to_public_json()
    seconds["explain"] = time.perf_counter() - t1
    seconds["n_explained"] = float(len(unique))
    result.explain_method = explain
    return result


def _round_robin(cases: list[CaseResult]) -> list[CaseResult]:
    """The first failure of every test, then the second of every test, ... (stable)."""
    seen: dict[str, int] = {}
    rank = []
    for c in cases:
        rank.append(seen.get(c.test, 0))
        seen[c.test] = rank[-1] + 1
    return [cases[i] for i in sorted(range(len(cases)), key=lambda i: (rank[i], i))]


def _sentiment_sentences(n: int, seed: int, polarity: str) -> list[tuple[str, dict[str, Any]]]:
    """``n`` short sentiment tweets of one polarity from several templates."""
    adj, verb = ("pos_adj", "pos_verb") if polarity == "positive" else ("neg_adj", "neg_verb")
    templates = [
        "{det} {noun} was {adj}",
        "i {verb} {det} {noun}",
        "what a {adj} {noun}!",
        "{det} {noun} is so {adj} today",
        "just saw {det} {noun}... {adj}",
    ]
    slots = {**LEXICON, "adj": LEXICON[adj], "verb": LEXICON[verb]}
    out: list[tuple[str, dict[str, Any]]] = []
    per = -(-n // len(templates))
    for k, tpl in enumerate(templates):
        out.extend(expand(tpl, n=per, random_state=seed + k, **slots))
    rng = np.random.default_rng(seed)
    return [out[i] for i in rng.permutation(len(out))[:n]]


def _neutral_sentences(n: int | None, seed: int) -> list[tuple[str, dict[str, Any]]]:
    out: list[tuple[str, dict[str, Any]]] = []
    for k, tpl in enumerate(LEXICON["neutral"]):
        out.extend(expand(tpl, n=None, random_state=seed + k, **LEXICON))
    rng = np.random.default_rng(seed)
    return [out[i] for i in rng.permutation(len(out))[:n]]


def default_suite(random_state: int = 0, *, size: int = 60) -> Suite:
    """The default sentiment suite: vocabulary, negation and robustness in MFT, INV and DIR tests.

    Twelve tests, 660 cases with ``size=60`` (the negated-negative tests and the phrase tests are
    smaller: 2/3 and 5/6 of ``size``). All texts come from templates over :data:`LEXICON`
    (seeded), so the suite needs no data and is identical for a seed.

    ==========================  ==========  ====  ===================================================
    test                        capability  type  expectation
    ==========================  ==========  ====  ===================================================
    vocab.pos_adj               vocabulary  MFT   "{det} {noun} is {pos_adj}" → positive
    vocab.neg_adj               vocabulary  MFT   "{det} {noun} is {neg_adj}" → negative
    vocab.verbs                 vocabulary  MFT   "i {pos_verb}/{neg_verb} {det} {noun}" → pos/neg
    vocab.add_positive_phrase   vocabulary  DIR   neutral + positive phrase: p(pos) not down > 0.1
    vocab.add_negative_phrase   vocabulary  DIR   neutral + negative phrase: p(pos) not up > 0.1
    negation.not_pos_adj        negation    MFT   "{det} {noun} is not {pos_adj}" → negative
    negation.not_neg_adj        negation    MFT   "{det} {noun} is not {neg_adj}" → positive
    negation.insert_not_pos     negation    DIR   is X → is not X (X positive): p(pos) down >= 0.1
    negation.insert_not_neg     negation    DIR   is X → is not X (X negative): p(pos) up >= 0.05
    robustness.add_mention      robustness  INV   "@user " + tweet: same label
    robustness.add_url          robustness  INV   tweet + " http://...": same label
    robustness.typo             robustness  INV   one swapped pair of letters: same label
    ==========================  ==========  ====  ===================================================

    Args:
        random_state (int, optional): seed of the template draws and perturbations. Default: 0
        size (int, optional): cases of a full-size test. Default: 60

    Returns:
        Suite
    """
    check_scalar(size, "size", min_val=1)
    seed = int(random_state)
    L = LEXICON
    small = max(1, (2 * size) // 3)
    phrase_n = max(1, (5 * size) // 6)

    def mft_adj(name: str, tpl: str, expected: str, n: int, s: int, cap: str, desc: str) -> MFT:
        filled = expand(tpl, n=n, random_state=s, **L)
        return MFT(
            name,
            cap,
            desc,
            [t for t, _ in filled],
            [expected] * len(filled),
            meta=[m for _, m in filled],
        )

    pos_v = expand("i {pos_verb} {det} {noun}", n=size // 2, random_state=seed + 3, **L)
    neg_v = expand("i {neg_verb} {det} {noun}", n=size - size // 2, random_state=seed + 4, **L)
    tests: list[BehaviourTest] = [
        mft_adj(
            "vocab.pos_adj",
            "{det} {noun} is {pos_adj}",
            "positive",
            size,
            seed + 1,
            "vocabulary",
            "a positive adjective makes a short statement positive",
        ),
        mft_adj(
            "vocab.neg_adj",
            "{det} {noun} is {neg_adj}",
            "negative",
            size,
            seed + 2,
            "vocabulary",
            "a negative adjective makes a short statement negative",
        ),
        MFT(
            "vocab.verbs",
            "vocabulary",
            "'i love/hate the X': the sentiment verb decides",
            [t for t, _ in pos_v + neg_v],
            ["positive"] * len(pos_v) + ["negative"] * len(neg_v),
            meta=[m for _, m in pos_v + neg_v],
        ),
    ]
    neutral = _neutral_sentences(None, seed + 6)
    for j, (polarity, direction) in enumerate((("positive", "down"), ("negative", "up"))):
        phrases = L["pos_phrase" if polarity == "positive" else "neg_phrase"]
        combos = [(b, m, ph) for b, m in neutral for ph in phrases]
        pick = np.random.default_rng(seed + 5 + j).permutation(len(combos))[:phrase_n]
        pairs = [(combos[i][0], f"{combos[i][0]}, {combos[i][2]}") for i in pick]
        meta = [{**combos[i][1], "phrase": combos[i][2]} for i in pick]
        tests.append(
            DIR(
                f"vocab.add_{polarity}_phrase",
                "vocabulary",
                f"adding a {polarity} phrase to a neutral tweet does not move p(positive) "
                f"{direction} by more than 0.1",
                pairs,
                label="positive",
                direction="up" if polarity == "positive" else "down",
                min_change=-0.1,
                meta=meta,
            )
        )
    tests += [
        mft_adj(
            "negation.not_pos_adj",
            "{det} {noun} is not {pos_adj}",
            "negative",
            size,
            seed + 7,
            "negation",
            "a negated positive adjective is negative",
        ),
        mft_adj(
            "negation.not_neg_adj",
            "{det} {noun} is not {neg_adj}",
            "positive",
            small,
            seed + 8,
            "negation",
            "a negated negative adjective is positive (CheckList also accepts neutral; this "
            "model has no neutral class)",
        ),
    ]
    for polarity, n, s, direction, min_change in (
        ("pos", size, seed + 9, "down", 0.1),
        ("neg", small, seed + 10, "up", 0.05),
    ):
        filled = expand(
            "{det} {noun} is {adj}", n=n, random_state=s, **{**L, "adj": L[f"{polarity}_adj"]}
        )
        pairs = [(t, t.replace(" is ", " is not ", 1)) for t, _ in filled]
        tests.append(
            DIR(
                f"negation.insert_not_{polarity}",
                "negation",
                f"inserting 'not' before a {'positive' if polarity == 'pos' else 'negative'} "
                f"adjective moves p(positive) {direction} by at least {min_change:g}",
                pairs,
                label="positive",
                direction=direction,
                min_change=min_change,
                meta=[m for _, m in filled],
            )
        )
    half = size // 2
    for k, (name, perturb, desc) in enumerate(
        (
            (
                "robustness.add_mention",
                add_mention,
                "an @mention in front does not change the label",
            ),
            ("robustness.add_url", add_url, "a URL at the end does not change the label"),
            ("robustness.typo", add_typo, "one swapped pair of letters does not change the label"),
        )
    ):
        base = _sentiment_sentences(half, seed + 20 + k, "positive") + _sentiment_sentences(
            size - half, seed + 30 + k, "negative"
        )
        prng = np.random.default_rng(seed + 40 + k)
        pairs = [(t, perturb(t, prng)) for t, _ in base]
        tests.append(INV(name, "robustness", desc, pairs, meta=[m for _, m in base]))
    return Suite(f"default(seed={seed})", tests)


#: Named suites for ``captum-ext behaviour --suite NAME``.
SUITES = {"default": default_suite}


def get_suite(name: str, random_state: int = 0) -> Suite:
    """The suite registered as ``name`` (``"default"``)."""
    if name not in SUITES:
        raise InputError(f"unknown suite {name!r}: choose one of {', '.join(sorted(SUITES))}.")
    return SUITES[name](random_state)
