"""One definition of the classifier head: both randomisation checks (the attribution methods'
``metrics.randomise.randomised`` and the sample-level methods' ``influence.randomise.
randomised_top``) re-initialise the same modules, with the same weights, and restore them."""

from __future__ import annotations

import pytest
import torch
from model_factory import model_for, tokenizer_for
from torch import nn

from captum_ext.adapters.head import classifier_head, find_head
from captum_ext.errors import InputError
from captum_ext.influence.randomise import randomised_top, top_modules
from captum_ext.metrics.randomise import randomised, randomised_modules

# family -> (the head's modules, the head's last linear layer, the top encoder block)
EXPECTED = {
    "bert": (["classifier", "bert.pooler"], "classifier", "bert.encoder.layer.1"),
    "roberta": (["classifier"], "classifier.out_proj", "roberta.encoder.layer.1"),
    "distilbert": (
        ["pre_classifier", "classifier"],
        "classifier",
        "distilbert.transformer.layer.1",
    ),
}


@pytest.fixture(scope="module", params=sorted(EXPECTED))
def family_model(request):
    return request.param, model_for(request.param, tokenizer_for(request.param))


def _state(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _changed(before: dict[str, torch.Tensor], model: nn.Module) -> set[str]:
    return {k for k, v in model.state_dict().items() if not torch.equal(v, before[k])}


def test_the_head_is_the_modules_on_top_of_the_encoder(family_model):
    family, model = family_model
    head, last_linear, top_block = EXPECTED[family]
    assert classifier_head(model) == classifier_head(model, 2) == head
    assert find_head(model, 2)[0] == last_linear
    assert any(last_linear == h or last_linear.startswith(h + ".") for h in head)
    assert randomised_modules(model, "head") == top_modules(model, 2, n_layers=0) == head
    assert randomised_modules(model, "top1") == top_modules(model, 2, n_layers=1)
    assert top_modules(model, 2, n_layers=1) == [*head, top_block]


@pytest.mark.parametrize(("level", "n_layers"), [("head", 0), ("top1", 1)])
def test_both_randomisations_reinitialise_the_same_weights_and_restore_them(
    family_model, level, n_layers
):
    family, model = family_model
    head = EXPECTED[family][0]
    before = _state(model)
    with randomised(model, level, seed=5):
        by_metrics = _changed(before, model)
        weights_metrics = _state(model)
    assert _changed(before, model) == set()  # restored
    with randomised_top(model, num_labels=2, n_layers=n_layers, seed=5) as names:
        by_influence = _changed(before, model)
        weights_influence = _state(model)
    assert _changed(before, model) == set()  # restored
    assert by_metrics == by_influence
    # every weight matrix of the head (and of the top block) was re-initialised, nothing else
    inside = tuple(n + "." for n in names)
    assert all(k.startswith(inside) for k in by_metrics)
    head_weights = {
        f"{name}.weight" for name, m in model.named_modules() if isinstance(m, nn.Linear)
    }
    assert {k for k in head_weights if k.startswith(tuple(h + "." for h in head))} <= by_metrics
    assert all(torch.equal(weights_metrics[k], weights_influence[k]) for k in by_metrics)


def test_a_model_without_a_base_takes_the_last_linear_layer():
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    assert classifier_head(model, 2) == ["2"]
    with pytest.raises(InputError, match="pass num_labels"):
        classifier_head(model)
    with pytest.raises(InputError, match="out_features == num_labels"):
        classifier_head(model, 3)
