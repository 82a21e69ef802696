r"""Model randomisation for sanity checks (Adebayo et al. 2018, "Sanity Checks for Saliency
Maps", https://arxiv.org/abs/1810.03292; Quantus' ``MPRT``).

:func:`randomised` re-initialises the classifier head, then (cascading, from the top) encoder
layers, in place, and restores every weight on exit. Levels:

* ``"head"``: the modules of the model outside its base encoder (the classifier head) and the
  pooler, if any;
* ``"top<k>"``: the head and the top ``k`` encoder layers;
* ``"all"``: the head and every encoder layer (the embeddings are kept, as in Adebayo et al.'s
  cascading randomisation, which stops before the input).

Each re-initialised module gets PyTorch's default initialisation (``reset_parameters``, as
Quantus does) under a fixed seed, so the randomised model is the same on every run.

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

from captum_ext.errors import InputError

__all__ = ["encoder_layers", "randomisation_levels", "randomised", "randomised_modules"]

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


def randomisation_levels(levels: Sequence[str], n_layers: int) -> list[str]:
    """Validate level names (``head``, ``top<k>`` with k < the number of layers, ``all``)."""
    out = []
    for lv in levels:
        m = _LEVEL.match(str(lv))
        if not m:
            raise InputError(
                f"randomisation level must be 'head', 'top<k>' or 'all', got {lv!r}."
            )
        if m.group(2) and int(m.group(2)) > n_layers:
            raise InputError(
                f"randomisation level {lv!r} asks for more layers than the model has ({n_layers})."
            )
        out.append(str(lv))
    return out


def randomised_modules(model: nn.Module, level: str) -> list[nn.Module]:
    """The modules a level re-initialises."""
    base = getattr(model, "base_model", model)
    head = [m for m in model.children() if m is not base]
    pooler = getattr(base, "pooler", None)
    if isinstance(pooler, nn.Module):
        head.append(pooler)
    layers = encoder_layers(model)
    (level,) = randomisation_levels([level], len(layers))
    if level == "head":
        return head
    k = len(layers) if level == "all" else int(level[3:])
    return head + layers[len(layers) - k :]


@contextlib.contextmanager
def randomised(model: nn.Module, level: str, seed: int = 0) -> Iterator[nn.Module]:
    """Within the block, ``model`` has the modules of ``level`` re-initialised (seeded); every
    parameter and buffer is restored exactly on exit, even after an error.

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
    modules = randomised_modules(model, level)
    saved = {k: v.detach().clone() for k, v in model.state_dict(keep_vars=False).items()}
    try:
        with torch.random.fork_rng(devices=[]), torch.no_grad():
            torch.manual_seed(seed)
            for mod in modules:
                for sub in mod.modules():
                    reset = getattr(sub, "reset_parameters", None)
                    if callable(reset):
                        reset()
        yield model
    finally:
        model.load_state_dict(saved)
