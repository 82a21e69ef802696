"""Behavioural tests of text classifiers (CheckList, Ribeiro et al. 2020) whose failures link to
explanations.

Examples::

    >>> from captum_ext.behaviour import default_suite
    >>> suite = default_suite()
    >>> suite.n_cases >= 500, sorted({t.test_type for t in suite.tests})
    (True, ['DIR', 'INV', 'MFT'])
"""

from captum_ext.behaviour.checks import DIR, INV, MFT, BehaviourTest, CaseResult
from captum_ext.behaviour.suite import (
    SUITES,
    Suite,
    SuiteResult,
    default_suite,
    get_suite,
    run_suite,
)
from captum_ext.behaviour.templates import (
    LEXICON,
    add_mention,
    add_typo,
    add_url,
    expand,
    template_slots,
)

__all__ = [
    "DIR",
    "INV",
    "LEXICON",
    "MFT",
    "SUITES",
    "BehaviourTest",
    "CaseResult",
    "Suite",
    "SuiteResult",
    "add_mention",
    "add_typo",
    "add_url",
    "default_suite",
    "expand",
    "get_suite",
    "run_suite",
    "template_slots",
]
