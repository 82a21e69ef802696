r"""Cost: seconds a method took per text at the run's main seed (a batch of texts explained
together shares the batch's time equally). Lower is better. Timings depend on the machine and
its load, so the verdict uses them only for remarks ("10× slower"), never for tiers, and they are
kept out of ``summary.json`` (which is byte-identical on a rerun) in ``timing.json``.
"""

from __future__ import annotations

from collections.abc import Sequence

from captum_ext.harness.store import AttributionRecord, Record
from captum_ext.metrics.protocol import RecordMetric, register_metric


class Cost(RecordMetric):
    name = "seconds"
    label = "seconds per text ↓"
    family = "cost"
    higher_is_better = False
    description = "wall time per text at the main seed"
    reference = ""

    def compute(
        self, records: Sequence[Record], *, random_state: int, k: int
    ) -> dict[tuple[str, str], float]:
        return {
            (r.text_id, r.method): float(r.seconds or 0.0)
            for r in records
            if isinstance(r, AttributionRecord) and r.seed == random_state
        }


register_metric(Cost())


class ReusedRows(RecordMetric):
    """The share of a method's model rows already scored in the run when it asked for them
    (:attr:`AttributionRecord.reused`): the LIME variants with one seed draw the same rows, so
    the second one's seconds are mostly fitting, not model time. The verdict does not call such
    a method "the cheapest". Methods that ask for no row but the text's own (the gradient and
    attention methods) have no value."""

    name = "reused_rows"
    label = "model rows reused"
    family = "cost"
    higher_is_better = False
    description = "share of the method's model rows already scored in the run (timing context)"
    reference = ""

    def compute(
        self, records: Sequence[Record], *, random_state: int, k: int
    ) -> dict[tuple[str, str], float]:
        return {
            (r.text_id, r.method): float(r.reused)
            for r in records
            if isinstance(r, AttributionRecord) and r.seed == random_state and r.reused is not None
        }


register_metric(ReusedRows())
