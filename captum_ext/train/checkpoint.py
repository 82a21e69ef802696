"""Resumable training checkpoints without pickle: safetensors for tensors, JSON for the rest.

A checkpoint is a folder holding

- ``state.json``: the step reached, the run's settings (its *signature*), the data order and
  anything else needed to continue; it names the two tensor files below and is the commit point
  (written last, atomically);
- ``weights-STEP.safetensors``: every trained parameter of the model (frozen ones equal the
  base model's, which the signature pins);
- ``optimizer-STEP.safetensors``: AdamW's moments (``exp_avg/NAME``, ``exp_avg_sq/NAME``) and
  step counts (``step/NAME``) of every trained parameter.

Files are written to a temporary name and renamed (atomic on POSIX), so an interruption at any
moment leaves either the previous or the new checkpoint, never a torn one. Nothing is unpickled
when reading: ``torch.load`` is never called.
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from captum_ext.errors import CaptumExtError

__all__ = [
    "Checkpoint",
    "CheckpointError",
    "load_checkpoint",
    "optimizer_tensors",
    "restore_optimizer",
    "save_checkpoint",
    "write_json_atomic",
]

STATE_FILE = "state.json"
FORMAT_VERSION = 1


class CheckpointError(CaptumExtError, OSError):
    """A checkpoint folder that cannot be read back (truncated or edited by hand)."""


@dataclass
class Checkpoint:
    """What :func:`load_checkpoint` returns: the JSON state and the tensors it names."""

    state: dict[str, Any]
    weights: dict[str, torch.Tensor]
    optimizer: dict[str, torch.Tensor]

    @property
    def step(self) -> int:
        return int(self.state["step"])


def write_json_atomic(path: Path, obj: Any) -> None:
    """Write ``obj`` as JSON to ``path`` through a temporary file and a rename."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(obj, fh, indent=1, sort_keys=True)
        fh.write("\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _save_tensors_atomic(path: Path, tensors: dict[str, torch.Tensor]) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    save_file({k: v.detach().contiguous().cpu() for k, v in tensors.items()}, str(tmp))
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def optimizer_tensors(
    optimizer: torch.optim.Optimizer, names: dict[int, str]
) -> dict[str, torch.Tensor]:
    """AdamW state as flat named tensors; ``names`` maps ``id(param)`` to its name."""
    out: dict[str, torch.Tensor] = {}
    for group in optimizer.param_groups:
        for p in group["params"]:
            state = optimizer.state.get(p)
            if not state:
                continue
            name = names[id(p)]
            out[f"exp_avg/{name}"] = state["exp_avg"]
            out[f"exp_avg_sq/{name}"] = state["exp_avg_sq"]
            out[f"step/{name}"] = torch.as_tensor(state["step"], dtype=torch.float32).reshape(())
    return out


def restore_optimizer(
    optimizer: torch.optim.Optimizer, tensors: dict[str, torch.Tensor], names: dict[int, str]
) -> None:
    """Put the moments saved by :func:`optimizer_tensors` back into ``optimizer``."""
    sd = optimizer.state_dict()
    state: dict[int, dict[str, torch.Tensor]] = {}
    index = 0
    for group in optimizer.param_groups:
        for p in group["params"]:
            name = names[id(p)]
            if f"exp_avg/{name}" in tensors:
                state[index] = {
                    "step": tensors[f"step/{name}"].clone(),
                    "exp_avg": tensors[f"exp_avg/{name}"],
                    "exp_avg_sq": tensors[f"exp_avg_sq/{name}"],
                }
            index += 1
    optimizer.load_state_dict({"state": state, "param_groups": sd["param_groups"]})


def save_checkpoint(
    folder: Path,
    state: dict[str, Any],
    weights: dict[str, torch.Tensor],
    optimizer: dict[str, torch.Tensor],
) -> None:
    """Write one checkpoint into ``folder`` and remove the files of the previous one.

    Args:
        folder (Path): The checkpoint folder (created if needed).
        state (dict): JSON-serialisable state; must hold ``"step"``.
        weights (dict): Parameter name → tensor.
        optimizer (dict): Flat optimizer tensors (:func:`optimizer_tensors`).
    """
    folder.mkdir(parents=True, exist_ok=True)
    step = int(state["step"])
    weights_name = f"weights-{step:08d}.safetensors"
    optim_name = f"optimizer-{step:08d}.safetensors"
    _save_tensors_atomic(folder / weights_name, weights)
    _save_tensors_atomic(folder / optim_name, optimizer)
    full = dict(state, format=FORMAT_VERSION, weights=weights_name, optimizer=optim_name)
    write_json_atomic(folder / STATE_FILE, full)
    for f in folder.iterdir():  # files of older checkpoints and leftovers of interrupted writes
        if f.name not in (STATE_FILE, weights_name, optim_name):
            f.unlink(missing_ok=True)


def load_checkpoint(folder: Path) -> Checkpoint | None:
    """Read the checkpoint in ``folder``; None when there is none.

    Raises:
        CheckpointError: ``state.json`` or a tensor file is unreadable.
    """
    state_file = folder / STATE_FILE
    if not state_file.is_file():
        return None
    try:
        state = json.loads(state_file.read_text(encoding="utf-8"))
        if state.get("format") != FORMAT_VERSION:
            raise ValueError(f"unknown checkpoint format {state.get('format')!r}")
        weights = load_file(str(folder / state["weights"]))
        optimizer = load_file(str(folder / state["optimizer"]))
    except (OSError, ValueError, KeyError, TypeError, SafetensorError) as exc:
        raise CheckpointError(
            f"the training checkpoint in {folder} cannot be read ({type(exc).__name__}: {exc}): "
            "pass restart=True (--restart) to discard it, or choose a new --out."
        ) from exc
    return Checkpoint(state=state, weights=weights, optimizer=optimizer)
