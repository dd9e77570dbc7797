"""The live Recognizer models of a worker, addressed from TypeScript by small integer ids.

TypeScript never holds a Python object: it holds an id, and every model call names it.
This module creates models (resolving pretrained weights offline with an error that says
which file to place where), runs forward passes without autograd, and saves and loads
state dicts atomically with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import gc
import os
import socket
from collections.abc import Mapping
from contextlib import nullcontext
from typing import Any

import torch
from torchvision import models

from bridge import rng
from bridge.errors import BridgeValidationError
from model.checkpoints import is_training_checkpoint, read_mapping, save_atomic
from model.recognizer import Recognizer

_models: dict[int, Recognizer] = {}
_next_id = 1


def create(config: dict[str, Any], device: torch.device) -> tuple[int, Recognizer]:
    """Build a Recognizer from a resolved ``RecognizerConfig`` and place it on ``device``.

    ``config``: ``{modelName, numClasses: int | null, weights: str | null, weightsPath: str | null,
    clfBias, normalize, seed}``. The random initialisation is drawn from ``seed`` alone (not from
    the worker's global generator, which earlier calls have moved), so the same config gives the
    same starting weights in any session: with fit's own seed, the same run.
    """
    global _next_id
    name = config["modelName"]
    weights = _resolve_weights(name, config["weights"]) if config["weights"] is not None else None
    with rng.LOCK, torch.random.fork_rng(devices=[]):  # LOCK: no job's stream moves meanwhile (bridge/rng.py)
        torch.manual_seed(int(config["seed"]))
        model = Recognizer(
            name,
            num_classes=config["numClasses"],
            weights=weights,
            clf_bias=bool(config["clfBias"]),
            normalize=bool(config["normalize"]),
            weights_path=config["weightsPath"],
        )
    model = model.to(device)
    model_id = _next_id
    _next_id += 1
    _models[model_id] = model
    return model_id, model


def _resolve_weights(model_name: str, weights_name: str) -> models.WeightsEnum:
    """The weights enum member, its file fetched from torchvision's cache; offline, say what to place where."""
    enum = models.get_model_weights(model_name)
    member = enum.DEFAULT if weights_name == "DEFAULT" else enum.verify(weights_name)
    file_name = os.path.basename(member.url)
    target = os.path.join(torch.hub.get_dir(), "checkpoints", file_name)
    if not os.path.exists(target):
        previous = socket.getdefaulttimeout()
        socket.setdefaulttimeout(60)  # a silent network must not hang the worker
        try:
            torch.hub.load_state_dict_from_url(member.url, progress=False, check_hash=False)
        except Exception as exc:
            raise BridgeValidationError(
                f"pretrained weights {member} are not in torchvision's cache and could not be downloaded "
                f"({type(exc).__name__}: {exc}). Place the file {file_name} (from {member.url}) at {target} "
                "(set TORCH_HOME to use another cache folder), or pass weightsPath with a local state dict.",
                path="weights",
            ) from None
        finally:
            socket.setdefaulttimeout(previous)
    return member


def get(model_id: int) -> Recognizer:
    """The live model with this id."""
    model = _models.get(int(model_id))
    if model is None:
        raise BridgeValidationError(f"no model with id {model_id} (it was disposed)", path="model")
    return model


def exists(model_id: int) -> bool:
    """Whether a model with this id is alive (not disposed)."""
    return int(model_id) in _models


def run(model: Recognizer, x: torch.Tensor, eval_mode: bool) -> torch.Tensor:
    """Forward a batch without autograd; ``eval_mode`` forces evaluation mode for this call only."""
    device = next(model.parameters()).device
    was_training = model.training
    if not eval_mode and model.training and x.shape[0] < 2 and _has_batch_norm(model):
        raise BridgeValidationError(
            f"training mode needs at least 2 images per batch (BatchNorm normalises over the batch), got "
            f"{x.shape[0]}: send more, or call model.eval() (or embed()) for embeddings",
            path="input",
        )
    if eval_mode:
        model.eval()
    try:
        # in training mode dropout draws from the global generators, which a fit's stream may be holding
        with torch.no_grad(), rng.LOCK if model.training else nullcontext():
            return model(x.to(device))
    finally:
        model.train(was_training)


def _has_batch_norm(model: Recognizer) -> bool:
    return any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in model.modules())


def save(model: Recognizer, path: str) -> None:
    """Write the state dict atomically: a temporary file in the same folder, then a rename."""
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise BridgeValidationError(f"folder {folder} does not exist", path="path")
    save_atomic(model.state_dict(), path)


def load(model: Recognizer, path: str) -> None:
    """Load a state dict saved by ``save`` (or by recognite), or the model part of a ``fit`` checkpoint."""
    state = read_mapping(path, "path")
    if is_training_checkpoint(state):
        state = state["model"]
    load_state(model, state, path, "path")


def load_state(model: Recognizer, state: Mapping[str, Any], source: str, option: str) -> None:
    """Load ``state`` into ``model``, or name every key and shape that does not fit (option ``option``)."""
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    shapes = [
        f"{k}: file {tuple(state[k].shape)} vs model {tuple(own[k].shape)}"
        for k in own
        if k in state and isinstance(state[k], torch.Tensor) and state[k].shape != own[k].shape
    ]
    if missing or unexpected or shapes:
        parts = []
        if missing:
            parts.append(f"missing keys {_head(missing)}")
        if unexpected:
            parts.append(f"unexpected keys {_head(unexpected)}")
        if shapes:
            parts.append(f"shape mismatches {_head(shapes)}")
        raise BridgeValidationError(
            f"{source} does not fit this model ({model.model_name}, "
            f"{model.classifier.out_features if model.classifier is not None else 'no'} classes): " + "; ".join(parts),
            path=option,
        )
    model.load_state_dict(state)


def _head(items: list[str], n: int = 8) -> str:
    shown = ", ".join(items[:n])
    return f"[{shown}{f', … {len(items) - n} more' if len(items) > n else ''}]"


def dispose(model_id: int) -> None:
    """Forget a model and free its memory (GPU memory included)."""
    _models.pop(int(model_id), None)
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def dispose_all() -> None:
    """Forget every model (worker shutdown)."""
    _models.clear()
    gc.collect()
