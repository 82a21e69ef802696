"""Sign conventions on a tiny BERT trained so that one planted word decides the label.

"great" anywhere in the text makes it positive; nothing else matters. A faithful signed method
gives "great" the largest positive score when explaining "positive" and the most negative when
explaining "negative"; magnitude methods rank it first.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from shared_fixtures import one_thread  # noqa: F401 (autouse fixture)
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from captum_ext.adapters import TextClassifierAdapter
from captum_ext.methods import get_method, list_methods, make_explainer

FILLER = "the a day home work time dinner night people today really just got went back still"
PLANTED = "great"


def planted_texts(rng: np.random.Generator, n: int) -> tuple[list[str], list[int]]:
    words = FILLER.split()
    texts, labels = [], []
    for _ in range(n):
        text = list(rng.choice(words, size=int(rng.integers(3, 9))))
        label = int(rng.random() < 0.5)
        if label:
            text.insert(int(rng.integers(0, len(text) + 1)), PLANTED)
        texts.append(" ".join(text))
        labels.append(label)
    return texts, labels


@pytest.fixture(scope="module")
def planted(tiny_bert_dir):
    """An adapter over the tiny BERT fine-tuned on the planted rule (about 2 s on one thread)."""
    torch.manual_seed(1)
    model = AutoModelForSequenceClassification.from_pretrained(tiny_bert_dir)
    tok = AutoTokenizer.from_pretrained(tiny_bert_dir)
    rng = np.random.default_rng(0)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    model.train()
    for _ in range(40):
        texts, labels = planted_texts(rng, 32)
        batch = tok(texts, padding=True, return_tensors="pt")
        loss = torch.nn.functional.cross_entropy(model(**batch).logits, torch.tensor(labels))
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    adapter = TextClassifierAdapter(model, tok, max_length=32)
    texts, labels = planted_texts(np.random.default_rng(1), 200)
    accuracy = (adapter.predict_proba(texts).argmax(1) == np.array(labels)).mean()
    assert accuracy == 1.0, f"the planted-rule model did not learn the rule (accuracy {accuracy})"
    return adapter


@pytest.fixture(scope="module")
def test_texts():
    texts, labels = planted_texts(np.random.default_rng(2), 16)
    return [t for t, y in zip(texts, labels, strict=True) if y][:6]


SIGNED = ["occlusion", "captum-lime", "captum-kernelshap", "ig"]
BUDGETS = {"captum-lime": {"n_samples": 200}, "captum-kernelshap": {"n_samples": 200}}
MAGNITUDE = ["saliency", "smoothgrad", "attention-last", "attention-rollout"]


@pytest.mark.parametrize("name", SIGNED)
def test_signed_methods_give_the_planted_word_the_extreme_score(planted, test_texts, name):
    assert get_method(name).signed
    ex = make_explainer(name, planted, **BUDGETS.get(name, {}))
    for text in test_texts:
        pos = ex.explain(text, target="positive", random_state=0)
        neg = ex.explain(text, target="negative", random_state=0)
        i = pos.words.index(PLANTED)
        assert int(np.argmax(pos.scores)) == i and pos.scores[i] > 0, (text, pos.scores)
        assert int(np.argmin(neg.scores)) == i and neg.scores[i] < 0, (text, neg.scores)
        assert pos.top_words(1) == [PLANTED]


@pytest.mark.parametrize("name", MAGNITUDE)
def test_magnitude_methods_rank_the_planted_word_first(planted, test_texts, name):
    assert not get_method(name).signed
    ex = make_explainer(name, planted)
    firsts = [ex.explain(t, random_state=0).top_words(1) == [PLANTED] for t in test_texts]
    assert np.mean(firsts) >= 0.75, firsts


def test_input_x_gradient_on_word_embeddings_is_degenerate_under_layernorm(planted, test_texts):
    """Why input-x-gradient is not in the signed list above.

    BERT's embedding block is LayerNorm(word + position + segment). LayerNorm is invariant to
    shifting and scaling its input, so the gradient g at its input x is orthogonal to x:
    g·e = -g·(p + s). Input x gradient on the word embeddings measures the gradient along the
    position and segment embeddings, not the word; on this model it never ranks "great" first.
    """
    model = planted.model
    ixg = make_explainer("input-x-gradient", planted)
    sal_grad = make_explainer("saliency", planted)._layer_attr  # raw layer gradients
    firsts = []
    for text in test_texts:
        wa = ixg.explain(text, target="positive")
        ids, mask = planted.captum_inputs(text)
        grad = sal_grad.attribute(ids, target=1, additional_forward_args=(mask,))[0]
        emb = model.bert.embeddings
        pos_seg = (
            emb.position_embeddings.weight[: ids.shape[1]] + emb.token_type_embeddings.weight[0]
        )
        identity = -(grad * pos_seg).sum(-1).detach().numpy()
        np.testing.assert_allclose(wa.token_scores, identity, rtol=1e-3, atol=1e-9)
        firsts.append(wa.top_words(1) == [PLANTED])
    assert not any(firsts)


def test_specs_state_sign_and_randomness_as_their_classes_do():
    names = {m.name for m in list_methods()}
    assert set(SIGNED + MAGNITUDE + ["input-x-gradient"]) <= names
    for name in SIGNED + MAGNITUDE + ["input-x-gradient"]:
        spec = get_method(name)
        assert spec.factory.name == name
        assert spec.factory.signed == spec.signed and spec.factory.stochastic == spec.stochastic
