r"""Captum's TracIn (Pruthi, Liu, Kale and Sundararajan, "Estimating Training Data Influence by
Tracing Gradient Descent", NeurIPS 2020) on a text classifier, behind the adapter.

Captum's :class:`~captum.influence.TracInCP` and :class:`~captum.influence.TracInCPFast` need a
model called as ``model(*batch[:-1])``, a data loader of ``(input_ids, attention_mask, labels)``
batches and checkpoints to load. :class:`TracInInfluence` supplies them:

* the model is wrapped so that it returns the logits of ``(input_ids, attention_mask)``;
* the training tweets are tokenised once (truncated as the adapter truncates) and padded per
  batch; the test texts are labelled with the model's **predicted class** (or ``target``), so
  the influence explains the prediction, as representer points do;
* ``captum-ext finetune`` deletes its intermediate checkpoints, so the one checkpoint is the
  model's **current weights** (learning rate 1): TracIn at the final checkpoint,
  :math:`\mathrm{TracIn}(z, z') = \nabla_\theta L(z)\cdot\nabla_\theta L(z')`. Nothing is loaded,
  so a model changed in place (e.g. :func:`~captum_ext.influence.randomise.randomised_top`) is
  the one explained.

``fast=True`` is ``TracInCPFast``: the gradient of the head's weight only, which factorises as
:math:`(f\cdot f')(g\cdot g')` (head inputs :math:`f`, loss gradients w.r.t. the logits
:math:`g`). ``fast=False`` is ``TracInCP`` on ``layers`` (default: every ``nn.Linear`` of the
head, the pooler and the last transformer block), with per-sample gradients from Captum's
batched hooks, which support ``nn.Linear`` and ``nn.Conv2d`` only (LayerNorms are left out).

Captum's ``TracInCP`` switches ``requires_grad`` on for the parameters of ``layers`` and leaves it
so; this wrapper restores the model's flags after building it and after every call.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from captum.influence import DataInfluence
from captum.influence._utils.common import KMostInfluentialResults
from torch import Tensor, nn

from captum_ext.errors import InputError
from captum_ext.influence.features import find_head
from captum_ext.influence.randomise import top_modules
from captum_ext.influence.representer import _check_train, check_k
from captum_ext.influence.results import InfluenceResult

if TYPE_CHECKING:
    from captum_ext.adapters import TextClassifierAdapter
    from captum_ext.data import TextDataset

__all__ = ["TracInInfluence"]

_CURRENT = "current-weights"


class _Logits(nn.Module):
    """``model(input_ids, attention_mask) -> logits``, the call Captum makes."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, input_ids: Tensor, attention_mask: Tensor) -> Tensor:
        return self.model(input_ids=input_ids, attention_mask=attention_mask).logits


class _Rows(torch.utils.data.Dataset):
    def __init__(self, rows: list[list[int]], labels: np.ndarray) -> None:
        self.rows, self.labels = rows, labels

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> tuple[list[int], int]:
        return self.rows[i], int(self.labels[i])


def _load_current(_model: nn.Module, _path: str) -> float:
    """Captum's checkpoint loader: keep the weights the model has now; learning rate 1."""
    return 1.0


def _inside(name: str, top: str) -> bool:
    return name == top or name.startswith(top + ".")


@contextlib.contextmanager
def _grad_flags(model: nn.Module, flags: dict[str, bool] | None = None) -> Iterator[None]:
    """Set ``requires_grad`` from ``flags`` (if given) for a block, then restore it; Captum's
    warning that token ids (int64) take no gradient is expected and silenced."""
    before = {n: p.requires_grad for n, p in model.named_parameters()}
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Input Tensor .* dtype of torch.int64")
            if flags is not None:
                for n, p in model.named_parameters():
                    p.requires_grad_(flags[n])
            yield
    finally:
        for n, p in model.named_parameters():
            p.requires_grad_(before[n])


class TracInInfluence(DataInfluence):
    r"""TracIn scores of the training tweets for test texts, by Captum's ``TracInCP`` or
    ``TracInCPFast`` (see the module docstring).

    Args:
        adapter (TextClassifierAdapter): The model.
        train_dataset (TextDataset): Its training tweets and labels.
        fast (bool, optional): ``TracInCPFast`` (head weight only) instead of ``TracInCP``.
            Default: False
        layers (list of str, optional): ``TracInCP``'s layers, qualified names of ``nn.Linear``
            modules of the model (Captum's batched per-sample gradients support ``nn.Linear``
            and ``nn.Conv2d`` only). Default: None (every ``nn.Linear`` of the head, a pooler
            and the last transformer block; their LayerNorms are left out).
        batch_size (int, optional): Training tweets per batch. Default: 32
        show_progress (bool, optional): Captum's progress over training batches. Default: False

    Examples::

        >>> from captum_ext.adapters import TextClassifierAdapter
        >>> from captum_ext.data import default_data_path, load_sentiment140
        >>> from captum_ext.influence.tracin import TracInInfluence
        >>> adapter = TextClassifierAdapter.from_pretrained()  # doctest: +SKIP
        >>> train = load_sentiment140(default_data_path()).sample(500, seed=0)  # doctest: +SKIP
        >>> tracin = TracInInfluence(adapter, train, fast=True)  # doctest: +SKIP
        >>> tracin.explain(["best dinner in a long time"], k=3).indices.shape  # doctest: +SKIP
        (1, 3)
    """

    def __init__(
        self,
        adapter: TextClassifierAdapter,
        train_dataset: TextDataset,
        *,
        fast: bool = False,
        layers: Sequence[str] | None = None,
        batch_size: int = 32,
        show_progress: bool = False,
    ) -> None:
        _check_train(train_dataset, adapter)
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise InputError(f"batch_size must be an int >= 1, got {batch_size!r}.")
        self.adapter = adapter
        self.model = adapter.model
        self.train_dataset = train_dataset
        self.fast = bool(fast)
        self.batch_size = batch_size
        self.show_progress = show_progress
        self.head_name, self.head = find_head(adapter.model, adapter.num_labels)
        modules = dict(adapter.model.named_modules())
        if layers is None:
            tops = top_modules(adapter.model, adapter.num_labels, n_layers=1)
            layers = [
                name
                for name, module in modules.items()
                if isinstance(module, nn.Linear) and any(_inside(name, top) for top in tops)
            ]
        unknown = [name for name in layers if not isinstance(modules.get(name), nn.Linear)]
        if unknown:
            raise InputError(
                f"layers {unknown} are not nn.Linear modules of the model: use qualified names "
                f"such as {self.head_name!r}."
            )
        self.layers = list(layers)

    # -- Captum -------------------------------------------------------------------------------
    def _loader(self) -> torch.utils.data.DataLoader:
        rows, _ = self.adapter._ids_for(self.train_dataset.texts)

        def collate(batch: list[tuple[list[int], int]]) -> tuple[Tensor, Tensor, Tensor]:
            ids, mask = self.adapter._pad([r for r, _ in batch])
            return ids, mask, torch.tensor([y for _, y in batch], dtype=torch.long)

        return torch.utils.data.DataLoader(
            _Rows(rows, self.train_dataset.labels),
            batch_size=self.batch_size,
            shuffle=False,
            collate_fn=collate,
        )

    def fit(self) -> TracInInfluence:
        """Build Captum's TracIn object on the current weights; returns ``self``."""
        from captum.influence import TracInCP, TracInCPFast

        wrapped = _Logits(self.model)
        loss = nn.CrossEntropyLoss(reduction="sum")
        with _grad_flags(self.model):
            if self.fast:
                self.captum_ = TracInCPFast(
                    wrapped, self.head, self._loader(), [_CURRENT],
                    checkpoints_load_func=_load_current, loss_fn=loss, batch_size=None,
                )  # fmt: skip
            else:
                self.captum_ = TracInCP(
                    wrapped, self._loader(), [_CURRENT],
                    checkpoints_load_func=_load_current,
                    layers=[f"model.{name}" for name in self.layers],
                    loss_fn=loss, batch_size=None, sample_wise_grads_per_batch=True,
                )  # fmt: skip
            self._flags = {n: p.requires_grad for n, p in self.model.named_parameters()}
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "captum_"):
            self.fit()

    def _test_batch(
        self, inputs: Any, target: Any
    ) -> tuple[list[str], tuple[Tensor, Tensor, Tensor], np.ndarray]:
        from captum_ext.adapters import validate_text
        from captum_ext.data import TextDataset

        if isinstance(inputs, TextDataset):
            inputs = inputs.texts
        texts = [inputs] if isinstance(inputs, str) else list(inputs)
        if not texts:
            raise InputError("inputs is empty: give at least one text.")
        texts = [validate_text(t, f"inputs[{i}]") for i, t in enumerate(texts)]
        rows, _ = self.adapter._ids_for(texts)
        ids, mask = self.adapter._pad(rows)
        predicted = self.adapter.predict_ids(rows).argmax(axis=1)
        if target is None:
            labels = predicted
        else:
            labels = np.full(len(texts), self.adapter.resolve_target(target))
        return texts, (ids, mask, torch.as_tensor(labels, dtype=torch.long)), predicted

    def influence(  # type: ignore[override]
        self,
        inputs: Any,
        k: int | None = None,
        proponents: bool = True,
        target: int | str | None = None,
        show_progress: bool = False,
    ) -> Tensor | KMostInfluentialResults:
        """TracIn scores of every training tweet for ``inputs`` (texts), ``(n_inputs,
        n_train)``, or the ``k`` largest (proponents) or smallest (opponents) as Captum's
        ``KMostInfluentialResults``. The loss of a test text is taken at its predicted class
        (or ``target``)."""
        self._check_fitted()
        if k is not None:
            k = check_k(k, len(self.train_dataset))
        _texts, batch, _pred = self._test_batch(inputs, target)
        with _grad_flags(self.model, self._flags):
            return self.captum_.influence(
                batch, k=k, proponents=proponents,
                show_progress=show_progress or self.show_progress,
            )  # fmt: skip

    def explain(
        self,
        inputs: Any,
        k: int = 5,
        proponents: bool = True,
        target: int | str | None = None,
    ) -> InfluenceResult:
        """The ``k`` proponents (or opponents) of each input with the training texts and
        labels: an :class:`InfluenceResult` (``.to_frame()``, ``.to_dict()``)."""
        self._check_fitted()
        k = check_k(k, len(self.train_dataset))
        texts, batch, predicted = self._test_batch(inputs, target)
        with _grad_flags(self.model, self._flags):
            top = self.captum_.influence(batch, k=k, proponents=proponents)
        return InfluenceResult(
            method="tracincp-fast" if self.fast else "tracincp",
            kind="proponents" if proponents else "opponents",
            texts=texts,
            indices=top.indices.numpy(),
            scores=top.influence_scores.detach().double().numpy(),
            train=self.train_dataset,
            predicted=predicted,
            target=batch[2].numpy(),
            extras={"settings": self.settings()},
        )

    def settings(self) -> dict[str, Any]:
        return {
            "captum_class": "TracInCPFast" if self.fast else "TracInCP",
            "layers": [self.head_name] if self.fast else self.layers,
            "checkpoints": "the current weights (learning rate 1)",
            "loss": "cross-entropy at the predicted class (sum)",
            "n_train": len(self.train_dataset),
        }
