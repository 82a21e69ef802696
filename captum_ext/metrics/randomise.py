r"""Model randomisation for sanity checks (Adebayo et al. 2018, "Sanity Checks for Saliency
Maps", https://arxiv.org/abs/1810.03292; Quantus' ``MPRT``).

:func:`randomised` re-initialises the classifier head, then (cascading, from the top) encoder
layers, in place, and restores every weight on exit. Levels:

* ``"head"``: the classifier head (:func:`captum_ext.adapters.head.classifier_head`: the
  modules of the model outside its base encoder, and the encoder's pooler, if any);
* ``"top<k>"``: the head and the top ``k`` encoder layers;
* ``"all"``: the head and every encoder layer (the embeddings are kept, as in Adebayo et al.'s
  cascading randomisation, which stops before the input).

Each re-initialised module gets PyTorch's default initialisation (``reset_parameters``, as
Quantus' MPRT does) under a fixed seed, so the randomised model is the same on every run. :func:`reinitialised` is the one
re-initialise-and-restore block; the sample-level check
(:func:`captum_ext.influence.randomise.randomised_top`) uses it too.

Examples::

    >>> from captum_ext.metrics.randomise import randomisation_levels
    >>> randomisation_levels(["head", "top1", "all"], n_layers=6)
    ['head', 'top1', 'all']
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Sequence

import torch
from torch import nn

from captum_ext.adapters.head import classifier_head
from captum_ext.errors import InputError

__all__ = [
    "encoder_layers",
    "randomisation_levels",
    "randomised",
    "randomised_modules",
    "reinitialised",
]

_LEVEL = re.compile(r"^(head|all|top([1-9][0-9]*))$")


def encoder_layers(model: nn.Module) -> list[nn.Module]:
    """The encoder's layers, bottom to top: the longest ``nn.ModuleList`` inside the base model.

    Works for BERT/RoBERTa/ELECTRA/DeBERTa (``encoder.layer``), DistilBERT (``transformer.layer``),
    ModernBERT (``layers``) and others that keep their layers in one list.
    """
    base = getattr(model, "base_model", model)
    lists: list[nn.ModuleList] = [m for m in base.modules() if isinstance(m, nn.ModuleList)]
    if not lists:
        raise InputError(
            f"{type(model).__name__} keeps no list of encoder layers: the randomisation check "
            "cannot find its top layers (use --sanity-texts 0 to skip it)."
        )
    longest = max(lists, key=len)
    return list(longest)


def randomisation_levels(
    levels: Sequence[str], n_layers: int | None = None, name: str = "randomisation level"
) -> list[str]:
    """Validate level names (``head``, ``top<k>`` with k at most the number of layers when
    ``n_layers`` is given, ``all``); errors name ``name`` (e.g. ``--randomisation-levels``)."""
    out = []
    for lv in levels:
        m = _LEVEL.match(str(lv))
        if not m:
            raise InputError(f"{name} must be 'head', 'top<k>' or 'all', got {lv!r}.")
        if n_layers is not None and m.group(2) and int(m.group(2)) > n_layers:
            raise InputError(f"{name} {lv!r} asks for more layers than the model has ({n_layers}).")
        out.append(str(lv))
    if not out:
        raise InputError(f"{name} names no level: give head, top<k> or all.")
    return out


def randomised_modules(model: nn.Module, level: str) -> list[str]:
    """Qualified names of the modules a level re-initialises (head first, then the layers)."""
    names = {id(m): n for n, m in model.named_modules()}
    head = classifier_head(model)
    layers = encoder_layers(model)
    (level,) = randomisation_levels([level], len(layers))
    if level == "head":
        return head
    k = len(layers) if level == "all" else int(level[3:])
    return head + [names[id(m)] for m in layers[len(layers) - k :]]


def _reinit(module: nn.Module) -> None:
    """PyTorch's default initialisation of every sub-module that has one (``reset_parameters``,
    as Quantus' MPRT re-initialises a layer)."""
    for sub in module.modules():
        reset = getattr(sub, "reset_parameters", None)
        if callable(reset):
            reset()


@contextlib.contextmanager
def reinitialised(model: nn.Module, names: Sequence[str], seed: int = 0) -> Iterator[list[str]]:
    """THE re-initialise-and-restore block: within it the modules ``names`` of ``model`` have
    fresh weights (PyTorch's default initialisation, ``reset_parameters``, as Quantus' MPRT
    does; seeded; the global torch random state is left as it was); every tensor they hold is put
    back exactly on exit, even after an error. Yields ``names``.

    PyTorch's defaults (Kaiming-uniform linear layers) rather than a Hugging Face model's
    ``initializer_range`` (normal, std 0.02): with std 0.02 the re-initialised layers add
    almost nothing to the residual stream, the "destroyed" model is still mostly its trained
    embeddings, and the check would not destroy what it claims to."""
    modules = dict(model.named_modules())
    missing = [n for n in names if n not in modules]
    if missing:
        raise InputError(f"the model has no module named {', '.join(missing)}.")
    saved = {
        f"{name}.{key}" if name else key: tensor.detach().clone()
        for name in names
        for key, tensor in modules[name].state_dict().items()
    }
    try:
        with torch.no_grad(), torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            for name in names:
                _reinit(modules[name])
        yield list(names)
    finally:
        with torch.no_grad():
            state = model.state_dict()
            for key, tensor in saved.items():
                state[key].copy_(tensor)


@contextlib.contextmanager
def randomised(model: nn.Module, level: str, seed: int = 0) -> Iterator[nn.Module]:
    """Within the block, ``model`` has the modules of ``level`` re-initialised (seeded,
    :func:`reinitialised`); every weight is restored exactly on exit, even after an error.

    Examples::

        >>> import torch
        >>> from transformers import BertConfig, BertForSequenceClassification
        >>> cfg = BertConfig(vocab_size=50, hidden_size=8, num_hidden_layers=2,
        ...                  num_attention_heads=2, intermediate_size=16)
        >>> model = BertForSequenceClassification(cfg)
        >>> before = model.classifier.weight.clone()
        >>> with randomised(model, "head"):
        ...     changed = not torch.equal(model.classifier.weight, before)
        >>> changed, torch.equal(model.classifier.weight, before)
        (True, True)
    """
    with reinitialised(model, randomised_modules(model, level), seed):
        yield model
