"""Reading and atomically writing torch checkpoint files.

Writes go to a temporary file in the same folder, then a rename.

A crash or a full disk mid-write leaves the previous file whole, never half of a new one.
Used for model state dicts (``saveStateDict``) and training checkpoints alike.
"""

from __future__ import annotations

import contextlib
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


def save_atomic(obj: Any, path: str, option: str = "path") -> None:
    """``torch.save(obj)`` to ``path`` atomically (fsync'd before the rename), its tensors on the CPU.

    The one place the worker writes torch files: CPU tensors keep a checkpoint made on a GPU readable
    by recognite or a plain ``torch.load(path)`` on a machine without one. The temporary file is named
    after the target and the process (``.<name>.<pid>.<random>.tmp``), so the temporaries a killed
    process left beside the same target are removed by the next save.
    """
    if os.path.isdir(path):
        raise BridgeValidationError(f"{path} is a folder: give the path of a file to write", path=option)
    fd, tmp = open_temporary_beside(path, option)
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


def open_temporary_beside(path: str, option: str = "path") -> tuple[int, str]:
    """A new temporary file in ``path``'s folder, ``.<name>.<pid>.<random>.tmp``, open for writing (fd, path).

    The temporaries a killed process left beside the same target are removed first.
    """
    folder = os.path.dirname(os.path.abspath(path))
    prefix = f".{os.path.basename(path)}."
    _remove_stale_temporaries(folder, prefix)
    try:
        return tempfile.mkstemp(prefix=f"{prefix}{os.getpid()}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise BridgeValidationError(f"cannot write {path}: {exc.strerror} ({folder})", path=option) from exc


def _remove_stale_temporaries(folder: str, prefix: str) -> None:
    """Delete ``<prefix><pid>.*.tmp`` files in ``folder`` whose process is gone (killed mid-save)."""
    try:
        names = os.listdir(folder)
    except OSError:
        return  # mkstemp reports the folder's problem
    for name in names:
        pid = name[len(prefix) :].split(".", 1)[0]
        if name.startswith(prefix) and name.endswith(".tmp") and pid.isdigit() and not _alive(int(pid)):
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(folder, name))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


def read_mapping(path: str, option: str) -> Mapping[str, Any]:
    """``torch.load(path, weights_only=True)``, which must hold a mapping; errors name the option at fault."""
    if not os.path.isfile(path):
        what = "is a folder, not a file" if os.path.isdir(path) else "file not found"
        raise BridgeValidationError(f"{what}: {path}", path=option)
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


def describe(path: str, option: str = "checkpoint") -> dict[str, Any]:
    """What a checkpoint holds, for rebuilding its model: a ``fit`` checkpoint carries its model config.

    A plain state dict (``saveStateDict``, or recognite's) carries no model name: ``modelName`` is then
    null, and the number of classes is read from the classifier's weight.
    """
    state = read_mapping(path, option)
    if not is_training_checkpoint(state):
        weight = state.get("classifier.weight")
        return {
            "kind": "stateDict",
            "modelName": None,
            "numClasses": int(weight.shape[0]) if isinstance(weight, torch.Tensor) else None,
            "clfBias": "classifier.bias" in state,
            "normalize": None,
            "epoch": None,
            "classes": None,
            "history": [],
        }
    recorded = state.get("config")  # what fit() recorded, read from the file: not an option from TypeScript
    model = recorded.get("model") if isinstance(recorded, Mapping) else None
    if not isinstance(model, Mapping):
        raise BridgeValidationError(
            f"{path} is a fit() checkpoint without its model config: load it with "
            "createRecognizer({ modelName, numClasses }) and then loadStateDict(path)",
            path=option,
        )
    classes = state.get("classes")
    return {
        "kind": "fit",
        "modelName": str(model["modelName"]),
        "numClasses": model["numClasses"],
        "clfBias": bool(model["clfBias"]),
        "normalize": bool(model["normalize"]),
        "epoch": int(state["epoch"]),
        "classes": list(classes) if isinstance(classes, list) else None,
        "history": list(state.get("history", [])),
    }
