"""The Python API of the harness: :func:`compare` (run + summarise + report) and :func:`load_run`."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from captum_ext.adapters.hf import TextClassifierAdapter
from captum_ext.errors import DataError, InputError
from captum_ext.harness.report import write_report
from captum_ext.harness.runner import (
    MANIFEST,
    MASKING_OPERATOR,
    RECORDS,
    RunConfig,
    default_text_ids,
    run_compare,
)
from captum_ext.harness.store import Record, ResultStore
from captum_ext.harness.summary import RankByHarness, Summary, summarize
from captum_ext.methods import list_methods
from captum_ext.metrics.builtin.randomisation import DEFAULT_LEVELS
from captum_ext.metrics.faithfulness import ERASER_BINS
from captum_ext.validation import check_not_device, check_scalar

__all__ = ["compare", "load_rationales", "load_run", "load_texts"]


def load_texts(
    data: str | os.PathLike[str], n: int | None = None, *, random_state: int = 0
) -> list[str]:
    """Texts to compare methods on, from a file or folder.

    * a Sentiment140 folder (``positive.txt``/``negative.txt``) or CSV: read with
      :func:`captum_ext.data.load_sentiment140`; ``n`` texts are drawn at random, balanced
      between the labels (``TextDataset.sample(n, seed=random_state)``);
    * a ``.txt`` file: one text a line (blank lines skipped); the first ``n``;
    * a ``.jsonl`` file: one object a line with a ``"text"`` field (and optionally
      ``"rationale_spans"``, see :func:`load_rationales`); the first ``n``;
    * a ``.csv`` file with a header naming ``text`` and ``text_pair`` columns: text pairs; the
      first ``n``.

    A text pair (a ``"text_pair"`` field or column) is returned as one string,
    ``join_pair(text, text_pair)``, which the adapter encodes as the pair: every method scores
    the words of both texts.

    Args:
        data (str or Path): the file or folder.
        n (int, optional): how many texts. Default: all.
        random_state (int, optional): seed of the Sentiment140 sample. Default: 0

    Returns:
        list of str

    Examples::

        >>> import os, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), "tweets.txt")
        >>> with open(path, "w") as f:
        ...     _ = f.write("not bad at all\\n\\ni hate mondays\\n")
        >>> load_texts(path)
        ['not bad at all', 'i hate mondays']
    """
    return _load(data, n, random_state)[0]


def load_rationales(
    data: str | os.PathLike[str], n: int | None = None
) -> list[list[tuple[int, int]] | None] | None:
    """Human rationales of a ``.jsonl`` file: ``"rationale_spans": [[start, end], ...]``.

    Character spans of the text that a person marked as the reason for its label (as in ERASER).
    Returns one list of spans per text (``None`` where a line has none), or ``None`` when the
    file has no rationale at all (or is not JSONL).

    Examples::

        >>> import json, tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "r.jsonl")
        >>> with open(path, "w") as f:
        ...     _ = f.write(json.dumps({"text": "not bad", "rationale_spans": [[0, 3]]}) + "\\n")
        >>> load_rationales(path)
        [[(0, 3)]]
    """
    return _load(data, n, 0)[1]


def _load(
    data: str | os.PathLike[str], n: int | None, random_state: int
) -> tuple[list[str], list[list[tuple[int, int]] | None] | None]:
    path = Path(data).expanduser()
    check_scalar(n, "n", int, min_val=1, allow_none=True)
    if not path.exists():
        raise DataError(
            "does not exist: pass --data a Sentiment140 folder or CSV, a .txt file "
            '(one text a line) or a .jsonl file (a "text" field a line).',
            path=str(path),
        )
    check_not_device(path, "--data")
    suffix = path.suffix.lower()
    if path.is_file() and suffix == ".csv":
        pairs = _csv_pairs(path, n)
        if pairs is not None:
            return pairs, None
    if path.is_file() and suffix in (".txt", ".jsonl"):
        texts: list[str] = []
        rationales: list[list[tuple[int, int]] | None] = []
        try:
            with open(path, encoding="utf-8") as fh:
                for lineno, line in enumerate(fh, start=1):
                    if not line.strip():
                        continue
                    if suffix == ".txt":
                        texts.append(line.rstrip("\n"))
                    else:
                        text, spans = _jsonl_row(line, str(path), lineno)
                        texts.append(text)
                        rationales.append(spans)
                    if n is not None and len(texts) >= n:
                        break
        except UnicodeDecodeError as exc:
            raise DataError(
                f"is not UTF-8 ({exc.reason}): save it as UTF-8.", path=str(path)
            ) from None
        if not texts:
            raise DataError("holds no text: give one text a line.", path=str(path))
        has_rationales = any(r is not None for r in rationales)
        return texts, (rationales if has_rationales else None)
    from captum_ext.data import load_sentiment140

    ds = load_sentiment140(path)
    if n is not None:
        if n > len(ds):
            raise InputError(
                f"n={n} is more than the {len(ds)} texts in {path}: use a smaller --n."
            )
        ds = ds.sample(n, seed=random_state)
    return list(ds.texts), None


def _csv_pairs(path: Path, n: int | None) -> list[str] | None:
    """Text pairs of a CSV whose header names ``text`` and ``text_pair`` (else ``None``)."""
    import csv

    from captum_ext.adapters.alignment import join_pair

    with open(path, encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        if not reader.fieldnames or not {"text", "text_pair"} <= set(reader.fieldnames):
            return None
        out: list[str] = []
        for lineno, row in enumerate(reader, start=2):
            text, pair = row.get("text") or "", row.get("text_pair") or ""
            if not text.strip() or not pair.strip():
                raise DataError(
                    "has an empty text or text_pair: give both texts on every row.",
                    path=str(path),
                    line=lineno,
                )
            out.append(join_pair(text, pair))
            if n is not None and len(out) >= n:
                break
    if not out:
        raise DataError("holds no text pair: give one pair a row.", path=str(path))
    return out


def _jsonl_row(line: str, path: str, lineno: int) -> tuple[str, list[tuple[int, int]] | None]:
    try:
        obj = json.loads(line)
    except ValueError as exc:
        raise DataError(
            f"not JSON ({exc}): give one JSON object a line.", path=path, line=lineno
        ) from None
    if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
        raise DataError(
            'needs a "text" string field, e.g. {"text": "so happy"}.', path=path, line=lineno
        )
    text = obj["text"]
    if obj.get("text_pair") is not None:
        from captum_ext.adapters.alignment import join_pair

        if not isinstance(obj["text_pair"], str):
            raise DataError('"text_pair" must be a string.', path=path, line=lineno)
        text = join_pair(text, obj["text_pair"])  # rationale spans stay on the first text
    raw = obj.get("rationale_spans")
    if raw is None:
        return text, None
    try:
        spans = [(int(s), int(e)) for s, e in raw]
    except (TypeError, ValueError):
        raise DataError(
            '"rationale_spans" must be a list of [start, end] character offsets, e.g. '
            f"[[0, 3]], got {raw!r}.",
            path=path,
            line=lineno,
        ) from None
    n_chars = len(obj["text"])
    for s, e in spans:
        if not 0 <= s < e <= n_chars:
            raise DataError(
                f'"rationale_spans" has [{s}, {e}], outside the text (0..{n_chars}).',
                path=path,
                line=lineno,
            )
    return text, spans


def compare(
    texts: Sequence[str] | str | None = None,
    *,
    data: str | os.PathLike[str] | None = None,
    n: int | None = None,
    methods: Sequence[str] | str | None = None,
    adapter: TextClassifierAdapter | None = None,
    model: str | os.PathLike[str] | None = None,
    out_dir: str | os.PathLike[str] | None = None,
    method_settings: dict[str, dict[str, Any]] | None = None,
    targets: Sequence[int | str | None] | None = None,
    rationales: Sequence[Sequence[tuple[int, int]] | None] | None = None,
    k: int = 5,
    rank_by: RankByHarness = "target",
    random_state: int = 0,
    stability_seeds: Sequence[int] = (1, 2),
    stability_texts: int = 20,
    faithfulness: bool = True,
    n_random: int = 5,
    bins: Sequence[float] = ERASER_BINS,
    max_steps: int = 20,
    n_soft: int = 10,
    sanity_texts: int = 20,
    randomisation_levels: Sequence[str] = DEFAULT_LEVELS,
    metrics: Sequence[str] | str | None = None,
    ground_truth: int = 0,
    ground_truth_data: str | os.PathLike[str] | None = None,
    chunk_size: int = 8,
    report: bool = True,
    html_texts: int = 100,
    show_progress: bool = True,
) -> Summary:
    r"""Run every method on the same texts, measure agreement and faithfulness, write a report.

    The run is resumable: with ``out_dir``, each result is appended to ``out_dir/records.jsonl``
    as soon as it is computed, and calling :func:`compare` again with the same arguments computes
    only what is missing (an interrupted run continues; new methods can be added).

    Args:
        texts (str or sequence of str, optional): the texts. Give ``texts`` or ``data``.
        data (str or Path, optional): a Sentiment140 folder/CSV, a ``.txt`` or ``.jsonl`` file
            (see :func:`load_texts`).
        n (int, optional): how many texts of ``data`` (or the first ``n`` of ``texts``).
            Default: all
        methods (str or sequence of str, optional): registry names (a comma-separated string
            works). Default: every registered method (:func:`captum_ext.methods.list_methods`).
        adapter (TextClassifierAdapter, optional): the model. Default: loaded from ``model``.
        model (str or Path, optional): checkpoint directory when no adapter is given.
            Default: the fine-tuned default model.
        out_dir (str or Path, optional): run directory (records, report). Default: None (in
            memory, no report files)
        method_settings (dict, optional): ``{method: {setting: value}}`` overriding the registry
            defaults (budgets such as ``n_samples``, ``n_steps``). Default: None
        targets (sequence, optional): class to explain per text. Default: the predicted class.
        rationales (sequence, optional): per text, human rationale character spans
            ``[(start, end), ...]`` (or ``None``) for the plausibility table (token F1, IOU F1,
            AUPRC). Default: None, or those of a ``.jsonl`` ``data`` file.
        k (int, optional): top-k size of the agreement metrics. Default: 5
        rank_by (str, optional): ``"target"`` (signed scores towards the target; magnitude for
            unsigned methods) or ``"magnitude"``. Default: "target"
        random_state (int, optional): seed of stochastic methods, the random baseline and the
            Sentiment140 sample. Default: 0
        stability_seeds (sequence of int, optional): extra seeds for stochastic methods.
            Default: (1, 2)
        stability_texts (int, optional): texts the extra seeds run on (the first ones).
            Default: 20
        faithfulness (bool, optional): score faithfulness. Default: True
        n_random (int, optional): random rankings per text for the baseline. Default: 5
        bins (sequence of float, optional): ERASER bins. Default: 1, 5, 10, 20, 50%
        max_steps (int, optional): most points of a deletion or insertion curve. Default: 20
        n_soft (int, optional): random draws per text of the soft comprehensiveness and
            sufficiency metrics. Default: 10
        sanity_texts (int, optional): texts (the first ones) the randomisation, random-logit and
            robustness checks run on; 0 skips them. Default: 20
        randomisation_levels (sequence of str, optional): the cascade of the randomisation
            check (``"head"``, ``"top<k>"``, ``"all"``). Default: ("head", "all")
        metrics (str or sequence of str, optional): registered metrics to compute
            (:func:`captum_ext.metrics.protocol.list_metrics`). Default: all
        ground_truth (int, optional): the ground-truth stage on this many planted test texts
            (:mod:`captum_ext.harness.ground_truth`: a copy of the model fine-tuned with a
            planted shortcut, cached; each method's recall@1 of the planted token); 0 skips it.
            Default: 0
        ground_truth_data (str or Path, optional): labelled tweets to plant into (a
            Sentiment140 folder or CSV). Default: the Sentiment140 sample
            (:func:`captum_ext.data.default_data_path`)
        chunk_size (int, optional): texts per ``explain_many`` call and faithfulness batch.
            Default: 8
        report (bool, optional): write the report files into ``out_dir``. Default: True
        html_texts (int, optional): texts shown word by word in the HTML report. Default: 100
        show_progress (bool, optional): progress bars. Default: True

    Returns:
        Summary: the verdict (``summary.headline``, the ranked ``summary.verdict`` table and
        ``summary.judgement``), the data frames (``metrics``, ``metric_table``, ``agreement``,
        ``agreement_summary``, ``stability``, ``timing``, ``attributions``) and the results;
        ``summary.settings["files"]`` lists the report files.

    Examples::

        >>> from captum_ext.harness import compare
        >>> s = compare(["what a lovely day", "i hate mondays"], methods="ig,occlusion",
        ...             out_dir="runs/demo", show_progress=False)  # doctest: +SKIP
        >>> s.verdict[["method", "tier", "verdict"]]  # doctest: +SKIP
              method  tier  verdict
        0  occlusion     1  believe
        1         ig     1  believe
        >>> s.matrix("kendall_tau").round(2)  # doctest: +SKIP
                    ig  occlusion
        ig         1.0        0.5
        occlusion  0.5        1.0
    """
    from captum_ext.validation import check_scalar

    check_scalar(ground_truth, "ground_truth", int, min_val=0)
    check_scalar(sanity_texts, "sanity_texts", int, min_val=0)
    check_scalar(n_soft, "n_soft", int, min_val=1)
    if (texts is None) == (data is None):
        raise InputError(
            "give either texts or data (a file or folder of texts), not both or neither."
        )
    if data is not None:
        text_list, file_rationales = _load(data, n, random_state)
        if rationales is None:
            rationales = file_rationales
    else:
        text_list = [texts] if isinstance(texts, str) else list(texts)  # type: ignore[arg-type]
        if n is not None:
            text_list = text_list[:n]
    if isinstance(methods, str):
        methods = [m.strip() for m in methods.split(",") if m.strip()]
    method_names = list(methods) if methods else [m.name for m in list_methods()]
    if len(set(method_names)) != len(method_names):
        raise InputError(f"methods lists a method twice: {', '.join(method_names)}.")
    if adapter is None:
        adapter = TextClassifierAdapter.from_pretrained(model)
        model_name = str(model) if model is not None else "default"
    else:
        model_name = (
            str(model) if model is not None else getattr(adapter.model.config, "_name_or_path", "")
        )
    config = RunConfig(
        methods=method_names,
        method_settings={m: dict(v) for m, v in (method_settings or {}).items()},
        random_state=int(random_state),
        stability_seeds=[int(s) for s in stability_seeds],
        stability_texts=int(stability_texts),
        faithfulness=bool(faithfulness),
        bins=[float(b) for b in bins],
        n_random=int(n_random),
        max_steps=int(max_steps),
        n_soft=int(n_soft),
        sanity_texts=int(sanity_texts),
        randomisation_levels=[str(x) for x in randomisation_levels],
        metrics=(
            [m.strip() for m in metrics.split(",") if m.strip()]
            if isinstance(metrics, str)
            else (list(metrics) if metrics is not None else None)
        ),
        chunk_size=int(chunk_size),
    )
    ids = default_text_ids(len(text_list))
    store = run_compare(
        text_list,
        adapter,
        out_dir=out_dir,
        text_ids=ids,
        targets=targets,
        config=config,
        model_name=model_name,
        rationales=rationales,
        show_progress=show_progress,
    )
    planted = None
    if ground_truth:
        from captum_ext.data import default_data_path
        from captum_ext.harness.ground_truth import run_ground_truth

        planted = run_ground_truth(
            adapter, store, methods=config.methods, method_settings=config.method_settings,
            data=ground_truth_data if ground_truth_data is not None else default_data_path(),
            model=model, n_texts=int(ground_truth), random_state=config.random_state,
            show_progress=show_progress,
        )  # fmt: skip
    wanted = set(ids) | {f"gt-{i:04d}" for i in range(int(ground_truth or 0))}
    records = [r for r in store.records() if r.text_id in wanted]
    rationale_map = _rationale_map(ids, rationales, len(text_list))
    summary = _summarize(
        records, config, model_name, k, rank_by, targets is not None, rationale_map
    )
    if planted is not None:
        summary.settings["ground_truth"] = {k_: v for k_, v in planted.items() if k_ != "model_dir"}
    if out_dir is not None and report:
        files = write_report(
            summary, out_dir, records=records, texts=dict(zip(ids, text_list, strict=True)),
            html_texts=html_texts,
        )  # fmt: skip
        summary.settings["files"] = {name: str(p) for name, p in files.items()}
    return summary


def _summarize(
    records: list[Record],
    config: RunConfig,
    model_name: str,
    k: int,
    rank_by: RankByHarness,
    explicit_targets: bool,
    rationales: dict[str, list[tuple[int, int]]] | None = None,
) -> Summary:
    settings = {
        "model": model_name,
        "masking_operator": MASKING_OPERATOR,
        "target_rule": "given per text" if explicit_targets else "the predicted class",
        **config.to_dict(),
    }
    return summarize(
        records,
        methods=config.methods,
        random_state=config.random_state,
        k=k,
        rank_by=rank_by,
        settings=settings,
        rationales=rationales,
    )


def _rationale_map(
    ids: list[str], rationales: Sequence[Any] | None, n: int
) -> dict[str, list[tuple[int, int]]] | None:
    if rationales is None:
        return None
    if len(rationales) != n:
        raise InputError(f"rationales must give one entry per text: got {len(rationales)} for {n}.")
    return {
        tid: [(int(a), int(b)) for a, b in spans]
        for tid, spans in zip(ids, rationales, strict=True)
        if spans
    }


def load_run(
    out_dir: str | os.PathLike[str],
    *,
    k: int = 5,
    rank_by: RankByHarness = "target",
    report: bool = False,
    html_texts: int = 100,
) -> Summary:
    """Summarise a run directory without a model (and rewrite its report if ``report``).

    Examples::

        >>> from captum_ext.harness import compare, load_run
        >>> _ = compare(["what a lovely day"], methods="occlusion",
        ...             out_dir="runs/occlusion", show_progress=False)  # doctest: +SKIP
        >>> load_run("runs/occlusion").metric_table["method"].tolist()  # doctest: +SKIP
        ['random', 'occlusion']
    """
    out = Path(out_dir)
    manifest_path = out / MANIFEST
    if not manifest_path.is_file() or not (out / RECORDS).is_file():
        raise InputError(
            f"{out} is not a comparison run directory (no {MANIFEST} and {RECORDS}): run "
            "`captum-ext compare --out DIR` first."
        )
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    config = RunConfig(
        **{k_: manifest[k_] for k_ in RunConfig.__dataclass_fields__ if k_ in manifest}
    )
    records = ResultStore(out / RECORDS).records()
    rationales = {
        t["id"]: [tuple(x) for x in t["rationale_spans"]]
        for t in manifest.get("texts", [])
        if t.get("rationale_spans")
    }
    summary = _summarize(
        records, config, manifest.get("model", ""), k, rank_by, False, rationales or None
    )
    if report:
        texts = {t["id"]: t["text"] for t in manifest.get("texts", [])}
        files = write_report(summary, out, records=records, texts=texts, html_texts=html_texts)
        summary.settings["files"] = {name: str(p) for name, p in files.items()}
    return summary
