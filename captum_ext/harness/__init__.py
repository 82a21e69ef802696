"""The cross-method agreement harness: run every registered method on the same texts, measure how
much they agree, score each with every registered metric, and write a report that opens with a
ranked verdict (which methods to believe on this model).

Examples::

    >>> from captum_ext.harness import compare
    >>> summary = compare(["what a lovely day"], methods="ig,occlusion",
    ...                   out_dir="runs/demo", show_progress=False)  # doctest: +SKIP
    >>> summary.verdict[["method", "verdict"]]  # doctest: +SKIP
          method  verdict
    0         ig  believe
    1  occlusion  believe
"""

from captum_ext.harness.api import compare, load_rationales, load_run, load_texts
from captum_ext.harness.report import write_report
from captum_ext.harness.runner import MASKING_OPERATOR, RunConfig, run_compare
from captum_ext.harness.store import ResultStore
from captum_ext.harness.summary import Summary, summarize

__all__ = [
    "MASKING_OPERATOR",
    "ResultStore",
    "RunConfig",
    "Summary",
    "compare",
    "load_rationales",
    "load_run",
    "load_texts",
    "run_compare",
    "summarize",
    "write_report",
]
