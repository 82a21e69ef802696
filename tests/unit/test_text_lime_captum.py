"""TextLime as a drop-in for ``captum.attr.Lime``: Captum's documented calls with the class swapped.

Captum's ``Lime`` docstring example (captum/attr/_core/lime.py) is::

    lime = Lime(net)
    attr = lime.attribute(input, target=1, n_samples=200)
    attr = lime.attribute(input, target=1, feature_mask=feature_mask)

Here ``net`` is a text classifier's forward function, ``input`` token ids and ``feature_mask`` the
words (``adapter.word_feature_mask``); the same lines run with ``TextLime`` in place of ``Lime``.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from captum._utils.models.linear_model import SkLearnRidge
from captum.attr import Lime
from captum.attr._core.lime import default_perturb_func, get_exp_kernel_similarity_function
from test_text_lime import linear_logit, rule_adapter, tid, tokenizer

from captum_ext.attr import TextLime
from captum_ext.errors import InputError

TEXT = "what a great day with my friends"
COEFS = {"great": 4.0, "friends": 1.0, "day": -0.5}


def top_word(attr: torch.Tensor, feature_mask: torch.Tensor) -> int:
    """The feature-mask group of the position with the largest attribution."""
    return int(feature_mask[0, int(attr[0].argmax())])


@pytest.mark.parametrize("cls", [Lime, TextLime])
def test_captums_documented_example_runs_with_the_class_swapped(cls):
    adapter = rule_adapter(linear_logit(COEFS))
    ids, mask = adapter.captum_inputs(TEXT)
    feature_mask = adapter.word_feature_mask(ids)
    net = adapter.forward_func("probs")

    torch.manual_seed(0)
    lime = cls(net)
    attr = lime.attribute(ids, target=1, n_samples=200)
    assert attr.shape == ids.shape
    attr = lime.attribute(ids, target=1, feature_mask=feature_mask)
    assert attr.shape == ids.shape
    # the tutorial's call: per-position baselines, the attention mask, every Lime argument
    attr = lime.attribute(
        ids,
        baselines=adapter.baselines(ids),
        target=1,
        additional_forward_args=(mask,),
        feature_mask=feature_mask,
        n_samples=200,
        perturbations_per_eval=50,
        show_progress=False,
    )
    assert attr.shape == ids.shape
    great = int(feature_mask[0, ids[0].tolist().index(tid("great"))])
    assert top_word(attr, feature_mask) == great
    coefs = lime.attribute(
        ids, baselines=adapter.baselines(ids), target=1, additional_forward_args=(mask,),
        feature_mask=feature_mask, n_samples=200, return_input_shape=False,
    )
    assert coefs.shape == (1, int(feature_mask.max()) + 1)  # Captum's: one per mask value
    assert int(coefs[0].argmax()) == great


def test_same_top_word_as_captums_lime_with_captums_own_constructor_arguments():
    """A plain forward function (no adapter) and Captum's model, similarity and perturb_func."""
    weights = torch.zeros(30522)
    for word, c in COEFS.items():
        weights[tid(word)] = c

    def net(input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        logit = (weights[input_ids] * attention_mask).sum(-1)
        return torch.stack([torch.zeros_like(logit), logit], dim=-1).softmax(-1)

    enc = tokenizer()([TEXT], return_tensors="pt")
    ids, mask = enc["input_ids"], enc["attention_mask"]
    baselines = torch.where(ids == ids[0, 0], ids, torch.zeros_like(ids))
    baselines[0, -1] = ids[0, -1]  # [CLS] and [SEP] kept, the rest [PAD] (id 0)
    feature_mask = torch.tensor([[0] + list(range(1, ids.shape[1] - 1)) + [0]])
    results = {}
    for cls in (Lime, TextLime):
        torch.manual_seed(0)
        lime = cls(
            net,
            interpretable_model=SkLearnRidge(alpha=0.1),
            similarity_func=get_exp_kernel_similarity_function("euclidean", 1000.0),
            perturb_func=default_perturb_func,
        )
        results[cls.__name__] = lime.attribute(
            ids, baselines=baselines, target=1, additional_forward_args=(mask,),
            feature_mask=feature_mask, n_samples=300, perturbations_per_eval=32,
        )
    ours, theirs = results["TextLime"], results["Lime"]
    assert ours.shape == theirs.shape == ids.shape
    assert top_word(ours, feature_mask) == top_word(theirs, feature_mask)
    assert int(ids[0, int(ours[0].argmax())]) == tid("great")
    assert float(ours[0, 0]) == 0.0 and float(ours[0, -1]) == 0.0  # never scored


def test_special_tokens_in_a_word_group_are_never_perturbed_nor_scored():
    seen: list[list[int]] = []
    rule = linear_logit(COEFS)

    def fn(row):
        seen.append(row)
        return rule(row)

    adapter = rule_adapter(fn)
    ids, mask = adapter.captum_inputs(TEXT)
    own = adapter.word_feature_mask(ids)  # specials in group 0, words 1..n
    merged = (own - 1).clamp(min=0)  # [CLS]/[SEP] in the first word's group (the case)
    lime = TextLime(adapter.forward_func("log_odds"), "ols", random_state=0)
    a = lime.attribute(ids, target=1, additional_forward_args=(mask,), feature_mask=own,
                       n_samples=300)
    seen.clear()
    b = lime.attribute(ids, target=1, additional_forward_args=(mask,), feature_mask=merged,
                       n_samples=300)
    cls_id, sep_id = ids[0, 0].item(), ids[0, -1].item()
    assert all(r[0] == cls_id and r[-1] == sep_id for r in seen)
    assert float(b[0, 0]) == 0.0 and float(b[0, -1]) == 0.0
    great = ids[0].tolist().index(tid("great"))
    np.testing.assert_allclose(float(a[0, great]), 4.0, atol=1e-6)  # exact: ols on a linear logit
    np.testing.assert_allclose(float(b[0, great]), 4.0, atol=1e-6)
    assert lime.last_results_[0].feature_names[0] == "what"  # not "[CLS] what [SEP]"


def test_captum_similarity_and_perturb_func_receive_captums_arguments():
    adapter = rule_adapter(linear_logit(COEFS))
    ids, mask = adapter.captum_inputs(TEXT)
    calls: dict[str, list] = {"sim": [], "perturb": []}

    def similarity_func(original_inp, perturbed_inp, perturbed_interpretable_inp, **kwargs):
        calls["sim"].append((original_inp.shape, perturbed_inp.shape,
                             tuple(perturbed_interpretable_inp.shape), sorted(kwargs)))
        return 1.0

    def perturb_func(original_inp, **kwargs):
        calls["perturb"].append(sorted(kwargs))
        for _ in range(1000):  # a generator, as Captum allows
            yield torch.bernoulli(torch.full((1, kwargs["num_interp_features"]), 0.5)).long()

    lime = TextLime(adapter, similarity_func=similarity_func, perturb_func=perturb_func,
                    random_state=0)
    attr = lime.attribute(ids, baselines=adapter.baselines(ids), target=1,
                          feature_mask=adapter.word_feature_mask(ids), n_samples=50)
    n_words = int(adapter.word_feature_mask(ids).max())
    assert len(calls["sim"]) == 50
    assert calls["sim"][1][:3] == (ids.shape, ids.shape, (1, n_words))
    assert {"num_interp_features", "feature_mask", "baselines"} <= set(calls["sim"][1][3])
    assert calls["perturb"][0] == ["baselines", "feature_mask", "num_interp_features"]
    again = lime.attribute(ids, baselines=adapter.baselines(ids), target=1,
                           feature_mask=adapter.word_feature_mask(ids), n_samples=50)
    torch.testing.assert_close(attr, again)  # random_state seeds the torch draws


def test_captum_arguments_that_cannot_apply_say_what_to_pass():
    adapter = rule_adapter(linear_logit(COEFS))
    ids, mask = adapter.captum_inputs(TEXT)
    lime = TextLime(adapter)
    with pytest.raises(InputError, match="one tensor of token ids"):
        lime.attribute((ids, mask), target=1)
    with pytest.raises(InputError, match="captum.attr.Lime"):
        lime.attribute(ids.float(), target=1)
    with pytest.raises(InputError, match=r"adapter.baselines\(ids\)"):
        lime.attribute(ids, baselines=torch.zeros(1, 3, dtype=torch.long), target=1)
    with pytest.raises(InputError, match="attention mask"):
        lime.attribute(ids, additional_forward_args=(mask, mask), target=1)
    with pytest.raises(InputError, match="needs the adapter"):
        TextLime(lambda x: x).explain("a text")
    with pytest.raises(InputError, match="forward function"):
        TextLime("bert")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="leave output out"):
        TextLime(adapter.forward_func("probs"), output="logits")
    with pytest.raises(InputError, match="similarity_func"):
        TextLime(adapter, similarity_func=3)  # type: ignore[arg-type]


def test_word_feature_mask_puts_special_tokens_in_their_own_group():
    adapter = rule_adapter(linear_logit(COEFS))
    tok = tokenizer()
    enc = tok(["tweets rock", "great"], padding=True, return_tensors="pt")
    fm = adapter.word_feature_mask(enc["input_ids"])
    pieces = tok.convert_ids_to_tokens(enc["input_ids"][0].tolist())
    assert fm.shape == enc["input_ids"].shape and fm.dtype == torch.long
    expected = [0] + [None] * (len(pieces) - 2) + [0]
    word = 0
    for i, p in enumerate(pieces[1:-1], start=1):
        word += 0 if p.startswith("##") else 1
        expected[i] = word
    assert fm[0].tolist() == expected
    assert fm[1].tolist()[0] == 0 and fm[1].tolist()[1] == 1 and set(fm[1].tolist()[2:]) == {0}
    assert adapter.word_feature_mask(enc["input_ids"][0]).shape == enc["input_ids"][0].shape


def test_unknown_tokens_are_words_not_special_tokens():
    """An emoji becomes [UNK]: a word of the text, grouped, perturbed and scored like any other."""
    adapter = rule_adapter(lambda r: [0.0, 3.0 * (tokenizer().unk_token_id in r)])
    ids, mask = adapter.captum_inputs("great 😀 day")
    enc = adapter.encode("great 😀 day")
    assert tokenizer().unk_token_id in ids[0].tolist()
    fm = adapter.word_feature_mask(ids)
    assert fm[0].tolist() == adapter.word_feature_mask(enc)[0].tolist() == [0, 1, 2, 3, 0]
    attr = TextLime(adapter, "ols", output="logits", random_state=0).attribute(
        ids, target=1, feature_mask=fm, n_samples=100
    )
    unk = ids[0].tolist().index(tokenizer().unk_token_id)
    assert float(attr[0, unk]) == pytest.approx(3.0, abs=1e-6)
