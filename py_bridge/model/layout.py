"""Where a batch goes and in which memory layout: the host-to-device copy and ``channels_last``.

Convolution networks run faster on CUDA in ``channels_last`` (NHWC): cuDNN's tensor-core
convolutions (fp16, bf16, and TF32, which cuDNN uses for float32 by default) work in NHWC, and an
NCHW model pays a layout transpose around each of them. Transformers (ViT, Swin, MaxViT) gain
nothing: their one or few convolutions cut patches and the rest are matrix products. On the CPU the
layout is left alone (oneDNN picks its own blocked layouts), so CPU results do not move.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn

TRANSFORMER_PREFIXES = ("vit_", "swin_", "maxvit_")


def wants_channels_last(model_name: str, device: torch.device) -> bool:
    """Whether this model runs in channels_last on this device: CUDA convolution networks only."""
    return device.type == "cuda" and not model_name.startswith(TRANSFORMER_PREFIXES)


def _is_channels_last(model: nn.Module) -> bool:
    # a 1x1 or one-channel kernel is contiguous in both layouts: look at one that is not
    weight = next((p for p in model.parameters() if p.dim() == 4 and p.shape[1] > 1 and p.shape[2:].numel() > 1), None)
    return weight is not None and weight.is_contiguous(memory_format=torch.channels_last)


@contextmanager
def channels_last(model: nn.Module, enabled: bool) -> Iterator[bool]:
    """Hold ``model``'s 4-D weights in channels_last while the block runs, then restore them.

    Parameters are converted in place (``.data``), so an optimizer built before or during the block
    keeps working. Nested blocks leave the conversion to the outermost one. Yields whether batches
    should be made channels_last too.
    """
    if not enabled or _is_channels_last(model):
        yield enabled
        return
    model.to(memory_format=torch.channels_last)
    try:
        yield True
    finally:
        model.to(memory_format=torch.contiguous_format)


def to_device(x: torch.Tensor, device: torch.device, nhwc: bool) -> torch.Tensor:
    """A batch on ``device``: an asynchronous copy (overlaps compute when the loader pins memory)."""
    x = x.to(device, non_blocking=True)
    if nhwc and x.dim() == 4:
        x = x.contiguous(memory_format=torch.channels_last)
    return x
