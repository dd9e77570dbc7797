"""The ``deterministic`` start option: exact repeats on CUDA, or cuDNN's fastest algorithms.

On the CPU the same run repeats bit for bit anyway. On CUDA it does not by default: cuDNN picks
convolution algorithms by timing them (``benchmark``), some of which add in a varying order, and
cuBLAS splits work by a workspace whose use varies between calls. ``deterministic: true`` pins all
of it: deterministic algorithms only (an operation that has none raises torch's error naming it),
cuDNN's deterministic choices without timing, and a fixed cuBLAS workspace. That costs speed
(deterministic convolutions and the workspace setting are slower, by model). ``false`` lets cuDNN
time and pick the fastest algorithms for each input shape (``benchmark``), the usual choice for
training on a GPU with fixed-size batches.
"""

from __future__ import annotations

import os
from typing import Any

# cuBLAS reads this when its first handle is made, so it is set before torch touches CUDA.
# ":4096:8" (8 buffers of 4 MiB) is one of the two settings torch documents for deterministic
# cuBLAS; ":16:8" (less memory, slower) is the other, kept when the user chose it.
CUBLAS_WORKSPACE = ":4096:8"
_DETERMINISTIC_WORKSPACES = (":4096:8", ":16:8")


def prepare_environment(deterministic: bool) -> None:
    """Set what must be in the environment before torch initialises CUDA: call before importing torch."""
    if deterministic and os.environ.get("CUBLAS_WORKSPACE_CONFIG") not in _DETERMINISTIC_WORKSPACES:
        os.environ["CUBLAS_WORKSPACE_CONFIG"] = CUBLAS_WORKSPACE


def apply(deterministic: bool, device: Any) -> None:
    """Set torch's flags for ``deterministic`` on ``device`` (a ``torch.device``)."""
    import torch

    torch.use_deterministic_algorithms(deterministic)
    torch.backends.cudnn.deterministic = deterministic
    # benchmark times algorithms per input shape and keeps the fastest: speed, not repeatability
    torch.backends.cudnn.benchmark = not deterministic and device.type == "cuda"


def is_deterministic() -> bool:
    """Whether the worker runs deterministically, as torch's flags say (what ``info().deterministic`` reports)."""
    import torch

    return bool(
        torch.are_deterministic_algorithms_enabled()
        and torch.backends.cudnn.deterministic
        and not torch.backends.cudnn.benchmark
    )
