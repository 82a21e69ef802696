"""The classifier head of a sequence classifier: the one definition both randomisation checks
(:func:`captum_ext.metrics.randomise.randomised`, the attribution methods' sanity check, and
:func:`captum_ext.influence.randomise.randomised_top`, the sample-level methods' one) re-initialise,
and the head's last linear layer, whose input the sample-level methods use as features.

* :func:`classifier_head`: every module of the model on top of its encoder. For a
  ``transformers`` model, the children outside ``model.base_model`` that hold weights (BERT's
  ``classifier``; RoBERTa's and ELECTRA's ``classifier`` with its dense layer; DistilBERT's
  ``pre_classifier`` and ``classifier``; DeBERTa's ``pooler`` and ``classifier``; ModernBERT's
  ``head`` and ``classifier``), then the encoder's own ``pooler`` when it has one (BERT's and
  ALBERT's feed the head). For another module: its last ``nn.Linear`` with ``num_labels`` outputs.
* :func:`find_head`: the last ``nn.Linear`` with ``num_labels`` outputs (inside the head).

Examples::

    >>> from transformers import BertConfig, BertForSequenceClassification
    >>> from captum_ext.adapters.head import classifier_head, find_head
    >>> cfg = BertConfig(vocab_size=50, hidden_size=8, num_hidden_layers=1,
    ...                  num_attention_heads=2, intermediate_size=16)
    >>> model = BertForSequenceClassification(cfg)
    >>> classifier_head(model), find_head(model, 2)[0]
    (['classifier', 'bert.pooler'], 'classifier')
"""

from __future__ import annotations

from torch import nn

from captum_ext.errors import InputError

__all__ = ["classifier_head", "find_head"]


def find_head(model: nn.Module, num_labels: int) -> tuple[str, nn.Linear]:
    """The head's last linear layer: the last ``nn.Linear`` with ``out_features == num_labels``.

    Args:
        model (nn.Module): A sequence classifier.
        num_labels (int): Its number of classes.

    Returns:
        tuple: ``(qualified_name, module)``, e.g. ``("classifier", Linear(384, 2))`` for BERT,
        ``("classifier.out_proj", ...)`` for RoBERTa.

    Raises:
        InputError: The model has no such layer (pass ``layer=`` to name one).
    """
    found: tuple[str, nn.Linear] | None = None
    for name, module in model.named_modules():
        if isinstance(module, nn.Linear) and module.out_features == num_labels:
            found = (name, module)
    if found is None:
        raise InputError(
            f"the model has no nn.Linear with out_features == num_labels ({num_labels}) to take "
            "as its classification head: pass layer='<module name>' naming the head."
        )
    return found


def _has_weights(module: nn.Module) -> bool:
    return any(True for _ in module.parameters())


def classifier_head(model: nn.Module, num_labels: int | None = None) -> list[str]:
    """Qualified names of the modules of ``model``'s classifier head (see the module).

    Args:
        model (nn.Module): A sequence classifier.
        num_labels (int, optional): Its number of classes; needed only for a model without a
            separate ``base_model`` (then the head is :func:`find_head`). Default: None (the
            model's ``config.num_labels``)

    Returns:
        list of str: module names, the head's own first (in the model's order), then the
        encoder's pooler.

    Raises:
        InputError: The head cannot be found.
    """
    base = getattr(model, "base_model", model)
    names = {id(m): n for n, m in model.named_modules()}
    if base is not model and isinstance(base, nn.Module):
        head = [names[id(m)] for m in model.children() if m is not base and _has_weights(m)]
        pooler = getattr(base, "pooler", None)
        if isinstance(pooler, nn.Module) and _has_weights(pooler):
            head.append(names[id(pooler)])
        if head:
            return list(dict.fromkeys(head))
    if num_labels is None:
        num_labels = getattr(getattr(model, "config", None), "num_labels", None)
    if not isinstance(num_labels, int):
        raise InputError(
            f"{type(model).__name__} has no base_model below its head and no config.num_labels: "
            "pass num_labels to find its classification head."
        )
    return [find_head(model, num_labels)[0]]
