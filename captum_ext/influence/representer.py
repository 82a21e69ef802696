r"""Representer points (Yeh, Kim, Yen and Ravikumar, "Representer Point Selection for Explaining
Deep Neural Networks", NeurIPS 2018, https://arxiv.org/abs/1811.09720).

The last layer of the classifier is refitted on the cached head-input features :math:`f_i` with
an L2 penalty, :math:`\min_W \frac{1}{n}\sum_i L(W f_i, y_i) + \lambda \lVert W\rVert^2`. At the
minimum the weights are a sum over training points, :math:`W = \sum_i \alpha_i f_i^\top` with
:math:`\alpha_i = -\frac{1}{2\lambda n} \frac{\partial L(z_i, y_i)}{\partial z_i}`, so the logit of
class :math:`c` for a test text is :math:`\sum_i \alpha_{ic} f_i^\top f_t`: each training tweet
contributes its *representer value* :math:`\alpha_{ic} f_i^\top f_t`. With ``fit_intercept``
(the default) a constant 1 is appended to every feature, so the head's bias is decomposed too and
the kernel is :math:`f_i^\top f_t + 1`.

Two targets, one purpose each:

* ``target="model"`` (explaining predictions): :math:`y_i` are the model's own softmax outputs,
  as in the reference code, so the refitted head reproduces the model. Fidelity (Pearson
  correlation and mean absolute difference between the model's probabilities and those rebuilt
  from representer values, on training and held-out tweets) says how far to trust it:
  :meth:`RepresenterPoints.fidelity`.
* ``target="labels"`` (auditing the training data): :math:`y_i` are the one-hot labels, so
  :math:`\alpha_i \propto y_i - p_i` and :math:`|\alpha_{i,y_i}|` is large for tweets whose
  label the head cannot accept. The sign of :math:`\alpha` follows the label, so a large
  *positive* :math:`\alpha` does not mean "dirty": rank by the magnitude.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import torch
from captum.influence import DataInfluence
from captum.influence._utils.common import KMostInfluentialResults
from torch import Tensor

from captum_ext.errors import InputError
from captum_ext.influence._solver import SolverInfo, add_intercept, fit_l2_softmax
from captum_ext.influence.features import CachedFeatures, HeadFeatureExtractor, softmax
from captum_ext.influence.results import InfluenceResult
from captum_ext.validation import check_scalar

if TYPE_CHECKING:
    from captum_ext.adapters import TextClassifierAdapter
    from captum_ext.data import TextDataset

__all__ = ["RepresenterPoints"]

logger = logging.getLogger("captum_ext.influence")

Inputs = Any  # str | Sequence[str] | TextDataset | Tensor | tuple[Tensor, Tensor]


class RepresenterPoints(DataInfluence):
    r"""Representer points of a text classifier's training tweets (Yeh et al., 2018).

    A :class:`captum.influence.DataInfluence`: :meth:`influence` returns, for each test text, the
    representer values of every training tweet, or the ``k`` largest (proponents) or smallest
    (opponents) as Captum's ``KMostInfluentialResults`` (TracIn's result type: the values come
    from one layer, so ``SimilarityInfluence``'s ``{layer: (indices, scores)}`` dict would hold
    one entry with the same tensors). It takes Captum's argument names: ``k`` or ``top_k``,
    ``proponents``, ``additional_forward_args``. :meth:`explain` returns the same with the
    training texts and labels (:class:`InfluenceResult`, ``.to_frame()``).

    Args:
        adapter (TextClassifierAdapter): The fine-tuned model.
        train_dataset (TextDataset): Its training tweets and labels.
        target (str, optional): ``"model"`` (targets are the model's softmax outputs: explain
            predictions) or ``"labels"`` (one-hot labels: audit the training data).
            Default: ``"model"``
        l2 (float, optional): :math:`\lambda`, the L2 penalty of the refitted layer; smaller
            follows the model more closely (higher fidelity) but gives larger, less stable
            :math:`\alpha`. Default: 1e-3
        fit_intercept (bool, optional): Append a constant 1 to the features so the bias is
            refitted and decomposed too. Default: True
        layer (str, optional): The head module, see :class:`HeadFeatureExtractor`.
            Default: None (the last ``nn.Linear`` with ``num_labels`` outputs).
        cache_dir (str or Path, optional): Feature cache folder. Default: None (user cache).
        features (CachedFeatures, optional): Training features computed before; must come from
            this model and these texts. Default: None (computed or read from the cache).
        tol (float, optional): Relative stationarity of the fit: the representer sum
            reproduces the refitted weights to ``tol`` times their largest entry.
            Default: 1e-6
        max_iter (int, optional): L-BFGS iterations at most. Default: 5000
        batch_size (int, optional): Texts per forward pass. Default: None (the adapter's).
        show_progress (bool, optional): Progress bar while computing features. Default: False

    Attributes (after :meth:`fit`):
        weight_ (np.ndarray): ``(C, D)`` the refitted head (last column: bias, with
            ``fit_intercept``).
        alpha_ (np.ndarray): ``(n_train, C)`` the representer weights :math:`\alpha_i`.
        targets_ (np.ndarray): ``(n_train, C)`` the targets fitted.
        train_probs_ (np.ndarray): ``(n_train, C)`` the model's own softmax outputs.
        solver_info_ (SolverInfo): Iterations, gradient norm and time of the fit.

    Examples::

        >>> from captum_ext.adapters import TextClassifierAdapter
        >>> from captum_ext.data import default_data_path, load_sentiment140
        >>> from captum_ext.influence import RepresenterPoints
        >>> adapter = TextClassifierAdapter.from_pretrained()  # doctest: +SKIP
        >>> train = load_sentiment140(default_data_path()).sample(500, seed=0)  # doctest: +SKIP
        >>> rp = RepresenterPoints(adapter, train).fit()  # doctest: +SKIP
        >>> rp.influence(["best dinner in a long time"], k=3).indices.shape  # doctest: +SKIP
        torch.Size([1, 3])
        >>> frame = rp.explain(["best dinner in a long time"], k=3).to_frame()  # doctest: +SKIP
        >>> frame[["rank", "train_index", "train_label", "train_predicted"]]  # doctest: +SKIP
           rank  train_index train_label train_predicted
        0     1          114    negative        positive
        1     2            0    positive        positive
        2     3           78    negative        positive
        >>> round(rp.fidelity(held_out=["what a day", "so tired"])["held_out"]["pearson"], 3)  # doctest: +SKIP
        1.0
    """

    def __init__(
        self,
        adapter: TextClassifierAdapter,
        train_dataset: TextDataset,
        *,
        target: Literal["model", "labels"] = "model",
        l2: float = 1e-3,
        fit_intercept: bool = True,
        layer: str | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
        features: CachedFeatures | None = None,
        tol: float = 1e-6,
        max_iter: int = 5000,
        batch_size: int | None = None,
        show_progress: bool = False,
    ) -> None:
        if target not in ("model", "labels"):
            raise InputError(
                f"target must be 'model' (explain predictions) or 'labels' (audit the training "
                f"labels), got {target!r}."
            )
        if isinstance(l2, bool) or not isinstance(l2, (int, float)) or not l2 > 0:
            raise InputError(f"l2 must be a float > 0, e.g. 1e-3, got {l2!r}.")
        train_dataset = _check_train(train_dataset, adapter)
        self.model = adapter.model
        self.train_dataset = train_dataset
        self.adapter = adapter
        self.target = target
        self.l2 = float(l2)
        self.fit_intercept = fit_intercept
        self.tol = tol
        self.max_iter = max_iter
        self.show_progress = show_progress
        self.extractor = HeadFeatureExtractor(
            adapter,
            layer=layer,
            cache_dir=cache_dir,
            batch_size=batch_size,
            show_progress=show_progress,
        )
        self._given_features = features

    # -- fitting ----------------------------------------------------------------------------
    def _design(self, features: np.ndarray) -> np.ndarray:
        return add_intercept(features) if self.fit_intercept else np.asarray(features, np.float64)

    def fit(self) -> RepresenterPoints:
        """Compute (or load) the training features and refit the head; returns ``self``."""
        feats = _train_features(
            self.extractor, self.train_dataset, self._given_features, self.show_progress
        )
        self.train_features_ = feats
        x = self._design(feats.features)
        self.train_probs_ = feats.probs
        if self.target == "model":
            y = self.train_probs_
        else:
            y = np.eye(self.adapter.num_labels)[self.train_dataset.labels]
        self.targets_ = y
        init = self._head_init(x.shape[1])
        self.weight_, self.solver_info_ = fit_l2_softmax(
            x, y, self.l2, init=init, tol=self.tol, max_iter=self.max_iter
        )
        if not self.solver_info_.converged:
            warnings.warn(
                f"representer fit stopped after {self.solver_info_.n_iter} iterations with "
                f"max |gradient| {self.solver_info_.grad_max:.2e} (tol={self.tol:g}) "
                f"({self.solver_info_.message}); alpha is approximate: raise max_iter or l2.",
                stacklevel=2,
            )
        n = x.shape[0]
        fitted = softmax(x @ self.weight_.T)
        residual = fitted * y.sum(axis=1, keepdims=True) - y  # dL/dz_i
        self.alpha_ = -residual / (2.0 * self.l2 * n)
        self.fitted_probs_ = fitted
        self._x = x
        return self

    def _head_init(self, d: int) -> np.ndarray | None:
        head = self.extractor.head
        weight = getattr(head, "weight", None)
        if weight is None:
            return None
        w = weight.detach().double().cpu().numpy()
        if self.fit_intercept:
            bias = getattr(head, "bias", None)
            b = np.zeros(w.shape[0]) if bias is None else bias.detach().double().cpu().numpy()
            w = np.concatenate([w, b[:, None]], axis=1)
        return w if w.shape == (self.adapter.num_labels, d) else None

    def _check_fitted(self) -> None:
        if not hasattr(self, "alpha_"):
            self.fit()

    @property
    def solver_info(self) -> SolverInfo:
        self._check_fitted()
        return self.solver_info_

    # -- queries ----------------------------------------------------------------------------
    def _query(self, inputs: Inputs) -> tuple[list[str], np.ndarray, np.ndarray]:
        return query_features(self.extractor, inputs)

    def kernel(self, features: np.ndarray) -> np.ndarray:
        """``(n_test, n_train)`` the kernel :math:`f_i^\\top f_t` (+1 with ``fit_intercept``)."""
        self._check_fitted()
        return self._design(features) @ self._x.T

    def rebuilt_logits(self, features: np.ndarray, *, chunk_size: int = 256) -> np.ndarray:
        """``(n_test, C)`` logits rebuilt from representer values: :math:`\\sum_i \\alpha_i
        k(f_i, f_t)`, the sum over training tweets (equals the refitted head's logits)."""
        self._check_fitted()
        out = np.empty((len(features), self.alpha_.shape[1]))
        for s in range(0, len(features), chunk_size):
            out[s : s + chunk_size] = self.kernel(features[s : s + chunk_size]) @ self.alpha_
        return out

    def representer_values(
        self, features: np.ndarray, target: Sequence[int] | np.ndarray
    ) -> np.ndarray:
        """``(n_test, n_train)`` :math:`\\alpha_{i c_t} k(f_i, f_t)` for class ``target[t]``."""
        self._check_fitted()
        target = np.asarray(target, dtype=np.int64)
        return self.kernel(features) * self.alpha_[:, target].T

    def _targets(self, target: Any, logits: np.ndarray) -> np.ndarray:
        if target is None:
            return logits.argmax(axis=1)
        if isinstance(target, (list, tuple, np.ndarray, Tensor)) and not isinstance(target, str):
            values = [self.adapter.resolve_target(int(t)) for t in np.asarray(target).tolist()]
            if len(values) != len(logits):
                raise InputError(
                    f"target has {len(values)} entries for {len(logits)} inputs: give one class "
                    "per input or a single class."
                )
            return np.asarray(values)
        return np.full(len(logits), self.adapter.resolve_target(target))

    def influence(  # type: ignore[override]
        self,
        inputs: Inputs,
        k: int | None = None,
        proponents: bool = True,
        target: int | str | Sequence[int] | None = None,
        show_progress: bool = False,
        *,
        top_k: int | None = None,
        additional_forward_args: Any = None,
    ) -> Tensor | KMostInfluentialResults:
        r"""Representer values of the training tweets for ``inputs``.

        Called as Captum's sample-level methods are: TracIn's ``influence(inputs, k=...,
        proponents=...)`` or ``SimilarityInfluence``'s ``influence(inputs, top_k=...,
        additional_forward_args=...)``.

        Args:
            inputs (str, list of str, TextDataset, Tensor or tuple of Tensors): Test texts,
                token ids, or ``(input_ids, attention_mask)`` as from ``adapter.captum_inputs``.
            k (int, optional): None returns every value; an int returns the ``k`` largest
                (``proponents=True``) or smallest (opponents) per input. Default: None
            proponents (bool, optional): Proponents or opponents. Default: True
            target (int, str or sequence, optional): Class whose logit is decomposed.
                Default: None (the model's predicted class of each input).
            show_progress (bool, optional): Progress bar over the test texts. Default: False
            top_k (int, optional): ``SimilarityInfluence``'s name for ``k``. Default: None
            additional_forward_args (Tensor or tuple, optional): the attention mask of token-id
                ``inputs``. Default: None

        Returns:
            ``Tensor`` ``(n_inputs, n_train)`` when ``k`` is None, else Captum's
            ``KMostInfluentialResults(indices, influence_scores)`` (TracIn's result type), each
            ``(n_inputs, k)``. Not ``SimilarityInfluence``'s ``{layer: (indices, scores)}``
            dict: the values come from one layer (the classifier head's input), so that dict
            would always hold one entry with the same two tensors; TracIn's named tuple gives
            them directly, with TracIn's meaning (largest values are the proponents).
        """
        inputs, k = captum_influence_args(inputs, k, top_k, additional_forward_args)
        self._check_fitted()
        _texts, feats, logits = self._query(inputs)
        classes = self._targets(target, logits)
        if k is None:
            return torch.as_tensor(self.representer_values(feats, classes))
        idx, scores = self._top_k(feats, classes, k, proponents, show_progress)
        return KMostInfluentialResults(torch.as_tensor(idx), torch.as_tensor(scores))

    def _top_k(
        self,
        feats: np.ndarray,
        classes: np.ndarray,
        k: int,
        proponents: bool,
        show_progress: bool = False,
        chunk_size: int = 128,
    ) -> tuple[np.ndarray, np.ndarray]:
        k = check_k(k, len(self.train_dataset))
        from tqdm.auto import tqdm

        idx = np.empty((len(feats), k), dtype=np.int64)
        val = np.empty((len(feats), k))
        for s in tqdm(
            range(0, len(feats), chunk_size), disable=not show_progress, desc="representer"
        ):
            values = self.representer_values(feats[s : s + chunk_size], classes[s : s + chunk_size])
            signed = values if proponents else -values
            part = np.argpartition(-signed, k - 1, axis=1)[:, :k]
            order = np.argsort(-np.take_along_axis(signed, part, axis=1), axis=1, kind="stable")
            top = np.take_along_axis(part, order, axis=1)
            idx[s : s + chunk_size] = top
            val[s : s + chunk_size] = np.take_along_axis(values, top, axis=1)
        return idx, val

    def explain(
        self,
        inputs: Inputs,
        k: int = 5,
        proponents: bool = True,
        target: int | str | Sequence[int] | None = None,
    ) -> InfluenceResult:
        """The ``k`` proponents (or opponents) of each input with texts, labels and
        :math:`\\alpha`: an :class:`InfluenceResult` (``.to_frame()``, ``.to_dict()``)."""
        self._check_fitted()
        texts, feats, logits = self._query(inputs)
        classes = self._targets(target, logits)
        idx, scores = self._top_k(feats, classes, k, proponents)
        rebuilt = softmax(self.rebuilt_logits(feats))
        return InfluenceResult(
            method="representer",
            kind="proponents" if proponents else "opponents",
            texts=texts,
            indices=idx,
            scores=scores,
            train=self.train_dataset,
            predicted=logits.argmax(axis=1),
            target=classes,
            extras={
                "alpha": self.alpha_[idx, classes[:, None]],
                # with target="model" the weights follow the model's view of each training
                # tweet (alpha_ic > 0 where the model leans to c), not necessarily its label
                "train_predicted": np.asarray(self.adapter.labels, dtype=object)[
                    self.train_probs_.argmax(axis=1)[idx]
                ],
                "model_prob": softmax(logits)[np.arange(len(classes)), classes],
                "rebuilt_prob": rebuilt[np.arange(len(classes)), classes],
                "settings": self.settings(),
            },
        )

    def settings(self) -> dict[str, Any]:
        info = self.solver_info
        return {
            "target": self.target,
            "l2": self.l2,
            "fit_intercept": self.fit_intercept,
            "layer": self.extractor.layer_name,
            "n_train": len(self.train_dataset),
            "solver": "L-BFGS (scipy), warm-started from the model's head",
            "solver_iterations": info.n_iter,
            "solver_grad_max": info.grad_max,
            "solver_seconds": round(info.seconds, 3),
        }

    # -- fidelity ---------------------------------------------------------------------------
    def fidelity(self, held_out: Inputs | None = None) -> dict[str, dict[str, float]]:
        """How well the representer decomposition reproduces the model.

        Compares the model's softmax outputs with those rebuilt from representer values
        (:meth:`rebuilt_logits`), on the training tweets and, if given, held-out texts.

        Args:
            held_out (texts or tuple of Tensors, optional): Held-out inputs. Default: None

        Returns:
            dict: ``{"train": {...}, "held_out": {...}}`` (the second only with ``held_out``),
            each with ``pearson`` (correlation of the probabilities of all classes), ``mad``
            (mean absolute difference of the probabilities), ``logit_pearson`` (of the logit
            margins against the first class) and ``agreement`` (same predicted class), ``n``.
        """
        self._check_fitted()
        report = {"train": _fidelity(self.train_probs_, self.fitted_probs_)}
        if held_out is not None:
            _texts, feats, logits = self._query(held_out)
            report["held_out"] = _fidelity(softmax(logits), softmax(self.rebuilt_logits(feats)))
        return report


def _fidelity(model_probs: np.ndarray, rebuilt_probs: np.ndarray) -> dict[str, float]:
    from scipy.stats import pearsonr

    a, b = model_probs.reshape(-1), rebuilt_probs.reshape(-1)
    la = np.log(np.clip(model_probs, 1e-300, None))
    lb = np.log(np.clip(rebuilt_probs, 1e-300, None))
    ma, mb = (la[:, 1:] - la[:, :1]).reshape(-1), (lb[:, 1:] - lb[:, :1]).reshape(-1)
    return {
        "pearson": float(pearsonr(a, b)[0]) if len(a) > 2 else float("nan"),
        "mad": float(np.abs(a - b).mean()),
        "logit_pearson": float(pearsonr(ma, mb)[0]) if len(ma) > 2 else float("nan"),
        "agreement": float((model_probs.argmax(1) == rebuilt_probs.argmax(1)).mean()),
        "n": int(len(model_probs)),
    }


# -- shared with knn / audit ------------------------------------------------------------------
def check_k(k: Any, n_train: int) -> int:
    """``k`` as an int in ``[1, n_train]``, else a clear :class:`InputError`."""
    check_scalar(k, "k", int, min_val=1, expected="a positive int")
    if k > n_train:
        raise InputError(
            f"k={k} is larger than the training set ({n_train} texts): use k <= {n_train}."
        )
    return int(k)


def captum_influence_args(
    inputs: Any,
    k: int | None,
    top_k: int | None,
    additional_forward_args: Any,
    k_default: int | None = None,
) -> tuple[Any, int | None]:
    """Captum's argument names on our ``influence``: ``(inputs, k)``.

    ``top_k`` is ``SimilarityInfluence``'s name for TracIn's ``k`` (it wins over ``k`` left at
    its default ``k_default``); ``additional_forward_args``
    (Captum passes it to the model after the inputs) may only be the attention mask of token-id
    inputs: the features come through the adapter, which builds the other model inputs.
    """
    if top_k is not None:
        if k is not None and k != k_default and k != top_k:
            raise InputError(
                f"k={k} and top_k={top_k} name the same thing (TracIn's and SimilarityInfluence's "
                "name): give one."
            )
        k = top_k
    if additional_forward_args is not None:
        args = (
            additional_forward_args
            if isinstance(additional_forward_args, tuple)
            else (additional_forward_args,)
        )
        if not isinstance(inputs, Tensor) or len(args) != 1 or not isinstance(args[0], Tensor):
            raise InputError(
                "additional_forward_args may only be the attention mask of token-id inputs "
                "(input_ids, then additional_forward_args=(attention_mask,)); texts need none."
            )
        inputs = (inputs, args[0])
    return inputs, k


def _check_train(train_dataset: Any, adapter: Any) -> TextDataset:
    """``train_dataset`` with its labels as the model's class indices (mapped by name,
    :class:`~captum_ext.labels.LabelModel`: a dataset label the model has no class for is an
    error, never taken as a class index)."""
    from captum_ext.data import TextDataset
    from captum_ext.labels import LabelModel

    if not isinstance(train_dataset, TextDataset):
        raise InputError(
            "train_dataset must be a captum_ext.data.TextDataset (texts and labels), got "
            f"{type(train_dataset).__name__}: wrap them as TextDataset(texts, labels)."
        )
    if len(train_dataset) == 0:
        raise InputError("train_dataset is empty: give at least one labelled training text.")
    return LabelModel(adapter.labels).align(train_dataset)


def _train_features(
    extractor: HeadFeatureExtractor,
    train_dataset: TextDataset,
    given: CachedFeatures | None,
    show_progress: bool,
) -> CachedFeatures:
    from captum_ext.influence.features import texts_fingerprint

    if given is None:
        return extractor.for_texts(train_dataset.texts, show_progress=show_progress)
    if not isinstance(given, CachedFeatures):
        raise InputError(
            f"features must be a CachedFeatures (from HeadFeatureExtractor.for_texts), got "
            f"{type(given).__name__}."
        )
    given.check(
        model_fingerprint=extractor.model_fingerprint,
        data_fingerprint=texts_fingerprint(train_dataset.texts),
    )
    return given


def query_features(
    extractor: HeadFeatureExtractor, inputs: Inputs
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """``(texts, features, logits)`` of test inputs: texts, a TextDataset, or token ids."""
    from captum_ext.data import TextDataset

    if isinstance(inputs, TextDataset):
        inputs = inputs.texts
    if isinstance(inputs, Tensor):
        inputs = (inputs,)
    if isinstance(inputs, tuple) and inputs and isinstance(inputs[0], Tensor):
        ids = inputs[0]
        mask = inputs[1] if len(inputs) > 1 else None
        feats, logits = extractor.from_ids(ids, mask)
        lengths = (
            mask.sum(1)
            if mask is not None
            else torch.full((len(ids),), ids.shape[1], device=ids.device)
        )
        tok = extractor.adapter.tokenizer
        texts = [
            tok.decode(r[: int(n)].tolist(), skip_special_tokens=True)
            for r, n in zip(ids, lengths, strict=True)
        ]
        return texts, feats, logits
    if isinstance(inputs, str):
        inputs = [inputs]
    texts = list(inputs)
    if not texts:
        raise InputError("inputs is empty: give at least one text.")
    from captum_ext.adapters import validate_text

    for i, t in enumerate(texts):
        validate_text(t, f"inputs[{i}]")
    feats, logits = extractor.features_and_logits(texts)
    return texts, feats, logits
