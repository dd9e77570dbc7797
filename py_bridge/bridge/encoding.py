"""Results that hold tensors, made JSON: every tensor becomes a shared-memory descriptor."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from bridge.state import STATE


def map_tensors(value: Any, fn: Callable[[torch.Tensor], Any]) -> Any:  # noqa: ANN401 - any nested value
    """``value`` with ``fn`` applied to every tensor in it (dicts, lists and tuples followed, their types kept)."""
    if isinstance(value, torch.Tensor):
        return fn(value)
    if isinstance(value, dict):  # OrderedDict state dicts keep their type
        return type(value)((k, map_tensors(v, fn)) for k, v in value.items())
    if isinstance(value, list | tuple):
        return type(value)(map_tensors(v, fn) for v in value)
    return value


def encode_tensors(value: Any) -> Any:  # noqa: ANN401 - any JSON-shaped value with tensors in it
    """Replace tensors anywhere in a nested result by the descriptors of their copies in the arena."""
    return map_tensors(value, lambda t: STATE.shm.write(t).to_json())
