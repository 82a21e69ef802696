r"""The harness's optional ground-truth stage (``compare --ground-truth``): the one metric with a
known answer.

A nonce token is planted as a shortcut into a slice of labelled tweets and a copy of the user's
model is fine-tuned on them (:func:`captum_ext.train.planted.plant_shortcut`, cached by a
fingerprint of the model, the data and the settings). Every method then explains test texts that
carry the token, for the planted class, on the planted model; ``planted_recall`` is whether the
token is the method's top word (recall@1). One ``ground_truth`` record per text and method, in the
run's store (text ids ``gt-0000``, ...), so the stage resumes like the rest of the run.

When the planted model did not learn the shortcut (it predicts the planted class on fewer than
:data:`MIN_SHORTCUT_RATE` of the test texts), the known answer is not known after all: the
records say so and the verdict does not use them.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from captum_ext.adapters import TextClassifierAdapter
from captum_ext.errors import InputError
from captum_ext.harness.store import GroundTruthRecord, ResultStore

__all__ = ["MIN_SHORTCUT_RATE", "run_ground_truth"]

#: Below this share of test texts predicted as the planted class, the shortcut is not learnt.
MIN_SHORTCUT_RATE = 0.8


def run_ground_truth(
    adapter: TextClassifierAdapter,
    store: ResultStore,
    *,
    methods: Sequence[str],
    method_settings: Mapping[str, Mapping[str, Any]],
    data: Any,
    model: Any = None,
    n_texts: int = 20,
    n_train: int = 8000,
    random_state: int = 0,
    show_progress: bool = False,
) -> dict[str, Any]:
    """Plant, fine-tune (or take from the cache), explain the planted test texts with every
    method, append the ``ground_truth`` records to ``store``; return what was planted.

    Args:
        adapter (TextClassifierAdapter): the user's model (its weights are the starting point).
        store (ResultStore): the run's store (records already there are not computed again).
        methods (sequence of str): registry names.
        method_settings (mapping): per method, budgets overriding the registry defaults.
        data (TextDataset or path): labelled tweets to plant into (a Sentiment140 folder/CSV).
        model (str or Path, optional): the user's model directory, when the adapter was loaded
            from one (the planted copy continues from it). Default: None (the default model).
        n_texts (int, optional): planted test texts. Default: 20
        n_train (int, optional): training tweets of the planted copy (a seeded sample of
            ``data``). Default: 8000
        random_state (int, optional): seed of the planting, the fine-tuning and the methods.
            Default: 0
        show_progress (bool, optional): the fine-tuning progress bar. Default: False

    Returns:
        dict: ``token``, ``planted_label``, ``shortcut_rate``, ``base_rate``, ``learnt``,
        ``build_seconds``, ``cached``, ``model_dir``.
    """
    from captum_ext.data import TextDataset, load_sentiment140
    from captum_ext.harness.runner import _explain_chunk
    from captum_ext.methods import make_explainer
    from captum_ext.train.planted import plant_shortcut, planted_recall_at_k

    if isinstance(n_texts, bool) or not isinstance(n_texts, int) or n_texts < 1:
        raise InputError(f"ground_truth must be a number of texts >= 1, got {n_texts!r}.")
    ds = data if isinstance(data, TextDataset) else load_sentiment140(data)
    if n_train < len(ds):
        ds = ds.sample(n_train, seed=random_state)
    user_model = adapter if model is None or str(model) == "default" else model
    planted = plant_shortcut(
        ds, user_model, n_test=n_texts, seed=random_state, show_progress=show_progress
    )
    learnt = planted.shortcut_rate >= MIN_SHORTCUT_RATE
    info = {
        "token": planted.token,
        "planted_label": planted.planted_label,
        "shortcut_rate": planted.shortcut_rate,
        "base_rate": planted.base_rate,
        "learnt": learnt,
        "build_seconds": planted.build_seconds,
        "cached": planted.cached,
        "model_dir": str(planted.model_dir),
    }
    texts = list(planted.test_texts[:n_texts])
    ids = [f"gt-{i:04d}" for i in range(len(texts))]
    gt_adapter: TextClassifierAdapter | None = None
    records: list[GroundTruthRecord] = []
    for m in methods:
        todo = [
            i for i, tid in enumerate(ids) if ("ground_truth", tid, m, random_state) not in store
        ]
        if not todo:
            continue
        if gt_adapter is None:
            gt_adapter = TextClassifierAdapter.from_pretrained(
                planted.model_dir, max_length=adapter.max_length, batch_size=adapter.batch_size,
                device=adapter.device,
            )  # fmt: skip
        explainer = make_explainer(m, gt_adapter, **dict(method_settings.get(m, {})))
        start = time.perf_counter()
        results = _explain_chunk(
            explainer, [texts[i] for i in todo], [planted.planted_class] * len(todo), random_state
        )
        seconds = (time.perf_counter() - start) / len(todo)
        for i, (wa, error, _s, _b) in zip(todo, results, strict=True):
            value = float(planted_recall_at_k(wa, planted.token, 1)) if wa is not None else None
            records.append(
                GroundTruthRecord(
                    text_id=ids[i],
                    method=m,
                    seed=random_state,
                    seconds=seconds,
                    values={"planted_recall": value},
                    error=error,
                    planted=info,
                )
            )
    store.extend(records)
    return info
