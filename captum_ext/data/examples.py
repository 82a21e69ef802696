"""The three example tweets of a published LIME study of BERT on Sentiment140.

Used by the demo, the docs and the tests.
"""

from __future__ import annotations

__all__ = ["EXAMPLE_TWEETS"]

EXAMPLE_TWEETS: tuple[str, ...] = (
    "I really want to apply for a au pair job, but I'm so fucking scared of change, that I keep "
    "overthinking everything.",
    "@CynthiaLasVegas   Thanks so much!!! Really appreciate that...Look forward to more of your "
    "tweets!!!!!!!!",
    "just got home from dinner  best dinner i have had in a long time! Well I probably should get "
    "ready for bed cause i have 15 hrs hard work tomorrow =(",
)
