r"""Stability across seeds: for a stochastic method run with several seeds on a text, the mean
feature agreement@k (Krishna et al. 2022: the share of the top-k words both runs share) over every
pair of seeds. Higher is better. Deterministic methods get no value (they are stable by
construction; the verdict treats them as such).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

from captum_ext.harness.store import AttributionRecord, Record
from captum_ext.metrics.agreement import feature_agreement
from captum_ext.metrics.protocol import RecordMetric, register_metric
from captum_ext.result import WordAttribution


class Stability(RecordMetric):
    name = "stability"
    label = "top-k agreement across seeds ↑"
    family = "stability"
    higher_is_better = True
    description = "feature agreement@k of the same method run with different seeds"
    reference = "Krishna et al. 2022 (feature agreement)"

    def compute(
        self, records: Sequence[Record], *, random_state: int, k: int
    ) -> dict[tuple[str, str], float]:
        runs: dict[tuple[str, str], dict[int, WordAttribution]] = {}
        for r in records:
            if isinstance(r, AttributionRecord):
                runs.setdefault((r.text_id, r.method), {})[r.seed] = r.attribution
        out: dict[tuple[str, str], float] = {}
        for key, by_seed in runs.items():
            if len(by_seed) < 2:
                continue
            vals = []
            for sa, sb in itertools.combinations(sorted(by_seed), 2):
                a, b = by_seed[sa], by_seed[sb]
                seen = a.seen_words()
                vals.append(
                    feature_agreement(a.importance()[seen], b.importance()[seen], k=k, by="value")
                )
            out[key] = float(np.mean(vals))
        return out


register_metric(Stability())
