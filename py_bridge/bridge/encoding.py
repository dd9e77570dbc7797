"""Results that hold tensors, made JSON: every tensor becomes a shared-memory descriptor."""

from __future__ import annotations

from typing import Any

import torch

from bridge.state import STATE


def encode_tensors(value: Any) -> Any:  # noqa: ANN401 - any JSON-shaped value with tensors in it
    """Replace tensors anywhere in a nested result by the descriptors of their copies in the arena."""
    if isinstance(value, torch.Tensor):
        return STATE.shm.write(value).to_json()
    if isinstance(value, dict):
        return {k: encode_tensors(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [encode_tensors(v) for v in value]
    return value
