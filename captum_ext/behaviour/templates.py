"""Template expansion and tweet perturbations for behavioural tests (CheckList-style).

:func:`expand` fills ``{slot}`` templates from word lists (every combination, or a seeded sample
of ``n`` of them, never materialising the full product); :data:`LEXICON` holds the default word
lists; :func:`add_mention`, :func:`add_url` and :func:`add_typo` are seeded perturbations for
invariance tests.

Examples::

    >>> from captum_ext.behaviour.templates import expand
    >>> [t for t, _ in expand("{a} {b}", a=["x", "y"], b=["1"])]
    ['x 1', 'y 1']
    >>> len(expand("the {noun} is {adj}", n=5, random_state=0, noun=list("abcd"), adj=list("efg")))
    5
"""

from __future__ import annotations

import re
import string
from collections.abc import Sequence
from typing import Any

import numpy as np

from captum_ext.errors import InputError
from captum_ext.validation import check_scalar

__all__ = ["LEXICON", "add_mention", "add_typo", "add_url", "expand", "template_slots"]

#: Default word lists of the template suites.
LEXICON: dict[str, list[str]] = {
    "pos_adj": (
        "good great amazing awesome excellent wonderful fantastic lovely brilliant perfect "
        "beautiful fun nice sweet incredible"
    ).split(),
    "neg_adj": (
        "bad terrible awful horrible boring disappointing ugly lame annoying sad poor crappy "
        "pathetic dreadful miserable"
    ).split(),
    "noun": (
        "day movie song game weekend show party food trip album class job phone book concert"
    ).split(),
    "det": ["this", "the", "my", "that"],
    "pos_verb": ["love", "like", "enjoy", "adore", "recommend"],
    "neg_verb": ["hate", "dislike", "regret", "despise", "dread"],
    "user": (
        "jenny_b tommcfly dave88 sarahlovesyou mike_t katie22 djfresh annaxo bigjim lisamarie "
        "ryan_h emmaaa"
    ).split(),
    "url": [
        "http://bit.ly/3xYz1",
        "http://tinyurl.com/abc12",
        "http://twitpic.com/4k2lp",
        "http://www.example.com/page",
        "http://is.gd/q8Hk",
        "www.myspace.com/band",
    ],
    "pos_phrase": [
        "i love it!",
        "best day ever",
        "so happy right now",
        "this made my day",
        "feeling great",
        "awesome :)",
    ],
    "neg_phrase": [
        "i hate it",
        "worst day ever",
        "so annoyed right now",
        "this ruined my day",
        "feeling awful",
        "ugh :(",
    ],
    "neutral": [
        "just got home from {place}",
        "going to {place} tomorrow",
        "{friend} is coming over later",
        "watching tv with {friend}",
        "on my way to {place}",
        "{friend} called me this morning",
    ],
    "place": ["work", "school", "the gym", "the mall", "church", "the store", "my aunt's house"],
    "friend": ["mom", "my sister", "jake", "the guys", "my roommate", "grandma"],
}

_FORMATTER = string.Formatter()


def template_slots(template: str) -> list[str]:
    """The slot names of a ``{slot}`` template, in order, without repeats."""
    seen: list[str] = []
    for _, name, _, _ in _FORMATTER.parse(template):
        if name is not None and name not in seen:
            if not name.isidentifier():
                raise InputError(f"template slot {{{name}}} must be a name like {{pos_adj}}.")
            seen.append(name)
    return seen


def expand(
    template: str,
    *,
    n: int | None = None,
    random_state: int = 0,
    **slots: Sequence[str],
) -> list[tuple[str, dict[str, Any]]]:
    """Fill a template with every combination of slot values, or ``n`` distinct ones at random.

    Args:
        template (str): text with ``{slot}`` fields (a slot used twice gets the same value).
        n (int, optional): how many distinct fillings to draw (seeded); None = all of them.
            Default: None
        random_state (int, optional): seed of the draw. Default: 0
        **slots: a list of values for each slot.

    Returns:
        list of ``(text, {slot: value})``.
    """
    names = template_slots(template)
    missing = [s for s in names if s not in slots]
    if missing:
        raise InputError(f"template {template!r} needs values for {missing}.")
    values = [list(slots[s]) for s in names]
    for s, v in zip(names, values, strict=True):
        if not v:
            raise InputError(f"slot {s!r} has no values.")
    sizes = [len(v) for v in values]
    total = int(np.prod(sizes)) if sizes else 1
    if n is None or n >= total:
        picks = np.arange(total)
    else:
        check_scalar(n, "n", min_val=1)
        picks = np.sort(np.random.default_rng(random_state).choice(total, size=n, replace=False))
    out = []
    for p in picks:
        filling: dict[str, Any] = {}
        rest = int(p)
        for s, v, k in zip(reversed(names), reversed(values), reversed(sizes), strict=True):
            rest, r = divmod(rest, k)
            filling[s] = v[r]
        filling = {s: filling[s] for s in names}
        out.append((template.format(**filling), filling))
    return out


def add_mention(text: str, rng: np.random.Generator, users: Sequence[str] | None = None) -> str:
    """``"@user " + text`` with a random user name."""
    users = list(users) if users is not None else LEXICON["user"]
    return f"@{users[int(rng.integers(len(users)))]} {text}"


def add_url(text: str, rng: np.random.Generator, urls: Sequence[str] | None = None) -> str:
    """``text + " " + url`` with a random URL."""
    urls = list(urls) if urls is not None else LEXICON["url"]
    return f"{text} {urls[int(rng.integers(len(urls)))]}"


_ALPHA_WORD = re.compile(r"[A-Za-z]{4,}")


def add_typo(text: str, rng: np.random.Generator) -> str:
    """Swap two adjacent letters inside one random word of 4+ letters (the first letter stays).

    Texts without such a word are returned unchanged.
    """
    words = list(_ALPHA_WORD.finditer(text))
    if not words:
        return text
    m = words[int(rng.integers(len(words)))]
    w = m.group(0)
    candidates = [i for i in range(1, len(w) - 1) if w[i] != w[i + 1]]
    if not candidates:
        return text
    i = candidates[int(rng.integers(len(candidates)))]
    typo = w[:i] + w[i + 1] + w[i] + w[i + 2 :]
    return text[: m.start()] + typo + text[m.end() :]
