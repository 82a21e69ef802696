"""Perturbations keep the positions of the tokens they keep, also on RoBERTa-family models.

RoBERTa numbers positions from the non-pad tokens, so a word replaced by [PAD] in place would move
every later token to another position unless the adapter passes explicit ``position_ids``. Every
model call of a perturbation is recorded at the embedding layer: the position embeddings of every
token, and the whole input embedding of every token the perturbation keeps, must equal those of
the unperturbed text.
"""

from __future__ import annotations

import contextlib

import numpy as np
import pytest
import torch
from family_zoo import README_TWEET, tiny_adapter
from shared_fixtures import one_thread  # noqa: F401 (autouse fixture)

from captum_ext.methods import make_explainer

TEXT = README_TWEET  # a double space: RoBERTa's lone Ġ token


@pytest.fixture(scope="module")
def roberta():
    return tiny_adapter("roberta")


@contextlib.contextmanager
def recorded(adapter):
    """Record ``(input_ids, position embeddings, embedding output)`` of every row the model sees."""
    emb = adapter.model.roberta.embeddings
    rows: list[tuple[list[int], np.ndarray, np.ndarray]] = []
    pos_out: list[torch.Tensor] = []
    h1 = emb.position_embeddings.register_forward_hook(lambda m, i, o: pos_out.append(o))

    def hook(module, args, kwargs, output):
        ids = kwargs.get("input_ids", args[0] if args else None)
        pos = pos_out.pop()
        if pos.shape[0] == 1 and ids.shape[0] > 1:
            pos = pos.expand(ids.shape[0], -1, -1)
        for r in range(ids.shape[0]):
            rows.append(
                (
                    ids[r].tolist(),
                    pos[r].detach().float().numpy(),
                    output[r].detach().float().numpy(),
                )
            )

    h2 = emb.register_forward_hook(hook, with_kwargs=True)
    try:
        yield rows
    finally:
        h1.remove()
        h2.remove()


def reference(adapter):
    enc = adapter.encode(TEXT)
    with recorded(adapter) as rows:
        adapter.predict_ids([enc.input_ids])
    ((ids, pos, hidden),) = rows
    assert ids == enc.input_ids
    return enc, pos, hidden


def check_rows(rows, enc, ref_pos, ref_hidden, pad_id):
    """Every recorded row: the original's position embeddings on its tokens (pads in the text do
    not shift them), and the original's input embeddings on the tokens it kept (same id) when it
    has the original's length. Returns how many such perturbed rows were checked."""
    n = len(enc.input_ids)
    n_checked = 0
    for ids, pos, hidden in rows:
        length = max(i for i, t in enumerate(ids) if t != pad_id) + 1  # </s> ends every row
        assert length <= n
        np.testing.assert_allclose(pos[:length], ref_pos[:length], atol=1e-6)
        kept = [i for i in range(length) if ids[i] == enc.input_ids[i]]
        if length == n and len(kept) < n and ref_hidden is not None:
            np.testing.assert_allclose(hidden[kept], ref_hidden[kept], atol=1e-5)
            n_checked += 1
    return n_checked


def test_naive_pad_replacement_would_shift_positions(roberta):
    """The failure this file guards against, shown on the plain Hugging Face call."""
    enc, ref_pos, _ = reference(roberta)
    ids = list(enc.input_ids)
    ids[2] = roberta.pad_token_id
    with recorded(roberta) as rows, torch.no_grad():
        roberta.model(input_ids=torch.tensor([ids]))
    assert not np.allclose(rows[0][1][3:], ref_pos[3:])
    with recorded(roberta) as rows:
        roberta.predict_ids([ids])
    np.testing.assert_allclose(rows[0][1], ref_pos, atol=1e-6)


def test_occlusion_keeps_positions(roberta):
    enc, ref_pos, ref_hidden = reference(roberta)
    with recorded(roberta) as rows:
        make_explainer("occlusion", roberta).explain(TEXT)
    assert check_rows(rows, enc, ref_pos, ref_hidden, roberta.pad_token_id) == len(enc.words)


def test_ig_baseline_path_keeps_positions(roberta):
    enc, ref_pos, _ = reference(roberta)
    with recorded(roberta) as rows:
        wa = make_explainer("ig", roberta, n_steps=8).explain(TEXT)
    # the baseline row ([PAD] everywhere but <s>, </s>) is among the rows, at the same positions
    base = roberta.baselines(torch.tensor([enc.input_ids]))[0].tolist()
    assert base in [r[0] for r in rows]
    check_rows(rows, enc, ref_pos, None, roberta.pad_token_id)
    assert np.isfinite(wa.scores).all()


@pytest.mark.parametrize(
    "method,settings",
    [
        ("shap-partition", {"max_evals": 40}),
        ("captum-lime", {"n_samples": 20}),
        ("captum-kernelshap", {"n_samples": 20}),
    ],
)
def test_masks_keep_positions(roberta, method, settings):
    enc, ref_pos, ref_hidden = reference(roberta)
    with recorded(roberta) as rows:
        make_explainer(method, roberta, **settings).explain(TEXT, random_state=0)
    assert check_rows(rows, enc, ref_pos, ref_hidden, roberta.pad_token_id) > 0


@pytest.mark.parametrize("perturbation", ["pad", "mask"])
def test_text_lime_replacements_keep_positions(roberta, perturbation):
    """TextLime replaces an absent word by one token (a word's other pieces are dropped, by
    design): a [PAD] there must not shift the tokens after it any further."""
    text = "so happy about the night"  # one piece a word: rows keep their length
    enc = roberta.encode(text)
    assert len(enc.input_ids) == len(enc.words) + 2
    with recorded(roberta) as rows:
        roberta.predict_ids([enc.input_ids])
    ((_, ref_pos, ref_hidden),) = rows
    with recorded(roberta) as rows:
        make_explainer("lime", roberta, n_samples=40, perturbation=perturbation).explain(
            text, random_state=0
        )
    assert check_rows(rows, enc, ref_pos, ref_hidden, roberta.pad_token_id) > 0


def test_token_types_follow_the_pair_boundary():
    adapter = tiny_adapter("bert")
    tok = adapter.tokenizer
    enc = tok("is it good?", "not bad at all")
    ids = torch.tensor([enc["input_ids"] + [tok.pad_token_id] * 2])
    mask = torch.tensor([[1] * len(enc["input_ids"]) + [0, 0]])
    kw = adapter.model_inputs(ids, mask)
    assert kw["token_type_ids"][0].tolist() == enc["token_type_ids"] + [0, 0]
    assert "position_ids" not in kw  # BERT numbers positions 0..n-1 whatever the ids
