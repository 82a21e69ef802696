r"""Model randomisation for sanity checks (Adebayo et al., "Sanity Checks for Saliency Maps",
NeurIPS 2018): re-initialise a classifier's head and its top layers for the duration of a block,
then put the trained weights back.

An explanation that barely changes when the weights it should explain are destroyed is not
explaining the model. :func:`randomised_top` destroys the top of the model in place (the
classification head, a pooler that feeds it, and the last ``n_layers`` transformer blocks),
seeded, and restores every tensor it touched when the block ends, also on an exception.

Examples::

    >>> import torch
    >>> from torch import nn
    >>> from captum_ext.influence.randomise import randomised_top
    >>> model = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))
    >>> before = model[1].weight.clone()
    >>> with randomised_top(model, num_labels=2, n_layers=0, seed=0) as names:
    ...     changed = not torch.equal(model[1].weight, before)
    >>> names, changed, torch.equal(model[1].weight, before)
    (['1'], True, True)
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from torch import nn

from captum_ext.adapters.head import classifier_head
from captum_ext.errors import InputError
from captum_ext.metrics.randomise import encoder_layers, reinitialised

__all__ = ["randomised_top", "top_modules"]


def top_modules(model: nn.Module, num_labels: int, n_layers: int = 1) -> list[str]:
    """Qualified names of the modules :func:`randomised_top` re-initialises.

    The classifier head (:func:`captum_ext.adapters.head.classifier_head`: the modules on top of
    the encoder, and the encoder's pooler when it has one; the same modules as the attribution
    methods' randomisation check re-initialises) and the last ``n_layers`` transformer blocks
    (:func:`captum_ext.metrics.randomise.encoder_layers`).

    Raises:
        InputError: ``n_layers`` is negative or larger than the number of blocks.
    """
    if isinstance(n_layers, bool) or not isinstance(n_layers, int) or n_layers < 0:
        raise InputError(f"n_layers must be an int >= 0, got {n_layers!r}.")
    names = classifier_head(model, num_labels)
    if n_layers:
        try:
            blocks = encoder_layers(model)
        except InputError:
            raise InputError(
                f"n_layers={n_layers} but the model has no list of layers: use n_layers=0."
            ) from None
        if n_layers > len(blocks):
            raise InputError(
                f"n_layers={n_layers} but the model has {len(blocks)} layers: use n_layers <= "
                f"{len(blocks)}."
            )
        qualified = {id(m): n for n, m in model.named_modules()}
        names += [qualified[id(m)] for m in blocks[len(blocks) - n_layers :]]
    return names


@contextlib.contextmanager
def randomised_top(
    model: nn.Module, *, num_labels: int, n_layers: int = 1, seed: int = 0
) -> Iterator[list[str]]:
    """Re-initialise the top of ``model`` in place for a block; restore it afterwards.

    The modules of :func:`top_modules`, through the one re-initialise-and-restore block
    (:func:`captum_ext.metrics.randomise.reinitialised`): PyTorch's default initialisation of
    every layer (``reset_parameters``), seeded. The global torch random state is left as it was.

    Args:
        model (nn.Module): The classifier (changed in place, restored at the end).
        num_labels (int): Its number of classes (finds the head).
        n_layers (int, optional): Transformer blocks re-initialised below the head. Default: 1
        seed (int, optional): Seed of the new weights. Default: 0

    Yields:
        list of str: The qualified names of the re-initialised modules.
    """
    with reinitialised(model, top_modules(model, num_labels, n_layers), seed) as names:
        yield names
