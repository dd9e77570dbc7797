"""Turn the ``device`` option into a torch device, or a clear error when it cannot be had."""

from __future__ import annotations

import re

import torch

from bridge.errors import BridgeValidationError

_CUDA_N = re.compile(r"^cuda:(\d+)$")


def resolve_device(name: str) -> torch.device:
    """Map 'auto' | 'cpu' | 'cuda' | 'cuda:N' to a device that exists on this machine."""
    has_cuda = torch.cuda.is_available()
    if name == "auto":  # with an explicit index: info().device reads 'cuda:0', as documented
        return torch.device("cuda", 0) if has_cuda else torch.device("cpu")
    if name == "cpu":
        return torch.device("cpu")
    match = _CUDA_N.match(name)
    if name == "cuda" or match:
        if not has_cuda:
            raise BridgeValidationError(
                f"device {name!r} was asked for, but torch sees no CUDA GPU on this machine "
                "(torch.cuda.is_available() is False); use device 'cpu' or 'auto'",
                path="device",
            )
        index = int(match.group(1)) if match else 0
        count = torch.cuda.device_count()
        if index >= count:
            raise BridgeValidationError(
                f"device {name!r} does not exist: this machine has {count} CUDA device(s), cuda:0..cuda:{count - 1}",
                path="device",
            )
        return torch.device("cuda", index)
    raise BridgeValidationError(f"unknown device {name!r}; expected 'auto', 'cpu', 'cuda' or 'cuda:N'", path="device")
