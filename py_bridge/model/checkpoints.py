"""Reading and atomically writing torch checkpoint files.

Writes go to a temporary file in the same folder, then a rename.

A crash or a full disk mid-write leaves the previous file whole, never half of a new one.
Used for model state dicts (``saveStateDict``) and training checkpoints alike.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from typing import Any

import torch

from bridge.encoding import map_tensors
from bridge.errors import BridgeValidationError


def on_cpu(obj: Any) -> Any:
    """``obj`` with every tensor in it (dicts, lists and tuples followed) moved to the CPU."""
    return map_tensors(obj, lambda t: t.detach().cpu())


def save_atomic(obj: Any, path: str) -> None:
    """``torch.save(obj)`` to ``path`` atomically (fsync'd before the rename), its tensors on the CPU.

    The one place the worker writes torch files: CPU tensors keep a checkpoint made on a GPU readable
    by recognite or a plain ``torch.load(path)`` on a machine without one.
    """
    fd, tmp = tempfile.mkstemp(prefix=".recognite-", suffix=".tmp", dir=os.path.dirname(os.path.abspath(path)))
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(on_cpu(obj), f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def read_mapping(path: str, option: str) -> Mapping[str, Any]:
    """``torch.load(path, weights_only=True)``, which must hold a mapping; errors name the option at fault."""
    if not os.path.isfile(path):
        raise BridgeValidationError(f"file not found: {path}", path=option)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise BridgeValidationError(
            f"cannot read {path} as a state dict ({type(exc).__name__}: {exc})", path=option
        ) from None
    if not isinstance(state, Mapping):
        raise BridgeValidationError(f"{path} holds a {type(state).__name__}, not a state dict", path=option)
    return state


def is_training_checkpoint(state: Mapping[str, Any]) -> bool:
    """Whether ``state`` is what ``fit`` writes (model and optimizer state, epoch) rather than a plain state dict."""
    return isinstance(state.get("model"), Mapping) and "optimizer" in state and "epoch" in state
