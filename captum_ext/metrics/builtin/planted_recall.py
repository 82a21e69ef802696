r"""Ground truth: recall@1 of a planted shortcut token (``compare --ground-truth``).

On a copy of the user's model fine-tuned with a nonce token planted as a shortcut to one class
(:mod:`captum_ext.harness.ground_truth`), each method explains test texts carrying the token, for
that class: 1 when the token is the method's top word, else 0. Higher is better. Records of a
planted model that did not learn the shortcut are left out (the answer is then not known).
Adebayo et al. 2022, "Post hoc Explanations May Be Ineffective for Detecting Unknown Spurious
Correlation" (planted spurious signals); Zhou et al. 2022, "Do Feature Attribution Methods
Correctly Attribute Features?" (known-truth evaluation by dataset modification).
"""

from __future__ import annotations

from collections.abc import Sequence

from captum_ext.harness.store import GroundTruthRecord, Record
from captum_ext.metrics.protocol import RecordMetric, register_metric


class PlantedRecall(RecordMetric):
    name = "planted_recall"
    label = "planted shortcut found (recall@1) ↑"
    family = "ground_truth"
    higher_is_better = True
    description = "the planted shortcut token is the top word on texts that carry it"
    reference = "Adebayo et al. 2022; Zhou et al. 2022"

    def compute(
        self, records: Sequence[Record], *, random_state: int, k: int
    ) -> dict[tuple[str, str], float]:
        out = {}
        for r in records:
            if not isinstance(r, GroundTruthRecord) or r.seed != random_state:
                continue
            value = r.values.get(self.name)
            if value is None or not r.planted.get("learnt", False):
                continue
            out[(r.text_id, r.method)] = float(value)
        return out


register_metric(PlantedRecall())
