"""The ``precision`` option: forward passes under ``torch.autocast``, and loss scaling for fp16 training.

'fp32' runs no autocast at all, so its numbers are exactly those of a run without the option.
'bf16' and 'fp16' run the forward passes in that format where autocast deems it safe (convolutions,
matrix products); weights, optimizer state and the returned embeddings stay float32
(recognizer.py normalises in float32). fp16's narrow exponent range loses small gradients, so fp16
training scales the loss (``torch.amp.GradScaler``); bf16 has float32's range and needs none.
"""

from __future__ import annotations

import contextlib
import warnings
from typing import Any

import torch

from bridge.errors import BridgeValidationError

DTYPES: dict[str, torch.dtype | None] = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}


def check_precision(precision: str, device: torch.device, training: bool = False) -> None:
    """Refuse a precision this torch cannot run on ``device``, naming the fix.

    Autocast with a dtype a device does not support only warns and runs in float32 (CPU), so the
    probe checks the dtype a matrix product actually comes out in.
    """
    if precision not in DTYPES:
        raise BridgeValidationError(
            f"unknown precision {precision!r}; expected one of {', '.join(DTYPES)}", path="precision"
        )
    dtype = DTYPES[precision]
    if dtype is None:
        return
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with torch.autocast(device.type, dtype=dtype):
                probe = torch.ones(2, 2, device=device) @ torch.ones(2, 2, device=device)
            if training and precision == "fp16":
                torch.amp.GradScaler(device.type)
        supported = probe.dtype == dtype
        reason = f"autocast ran in {probe.dtype}"
    except (RuntimeError, ValueError, AttributeError, TypeError) as exc:
        supported, reason = False, str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if not supported:
        fix = "use precision 'bf16' or 'fp32', or run on a GPU (device 'cuda')"
        if device.type == "cuda":
            fix = "use precision 'fp16' (bf16 needs an Ampere or newer GPU) or 'fp32'"
        raise BridgeValidationError(
            f"precision {precision!r} is not supported on {device} by torch {torch.__version__} ({reason}): {fix}",
            path="precision",
        )


def autocast(device: torch.device, precision: str) -> contextlib.AbstractContextManager[Any]:
    """The context forward passes run in: autocast to the precision's dtype, or nothing for fp32."""
    dtype = DTYPES[precision]
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=dtype)


def grad_scaler(device: torch.device, precision: str) -> torch.amp.GradScaler | None:
    """A loss scaler for fp16 training; None for the precisions that need none."""
    return torch.amp.GradScaler(device.type) if precision == "fp16" else None
