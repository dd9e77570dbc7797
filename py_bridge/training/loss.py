"""recognite's training objective, optionally scaled (NormFace) and with a cosine margin (CosFace)."""

from __future__ import annotations

import torch
import torch.nn.functional as F  # noqa: N812 - the usual name


def cosface_loss(logits: torch.Tensor, targets: torch.Tensor, scale: float, margin: float) -> torch.Tensor:
    """Cross-entropy of ``scale * (cos - margin on the target)``; scale 1 and margin 0 is recognite's loss."""
    if margin:
        logits = logits - margin * F.one_hot(targets, logits.shape[1]).to(logits.dtype)
    return F.cross_entropy(scale * logits, targets)
