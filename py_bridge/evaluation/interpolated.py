"""Each query's interpolated precision at recall 0, 0.01, …, 1: the report's precision-recall curve.

At recall level r: the highest precision at any threshold whose recall is at least r (the
interpolation of PASCAL VOC and COCO). Thresholds are the distinct scores (the last position of each
group of ties), as for AP. Recall ≥ i/100 is tested in integers, tps ≥ ceil(i · npos / 100), so no
rounding decides it.
"""

from __future__ import annotations

import math

import torch

RECALL_LEVELS = 101  # recall 0, 0.01, …, 1
INTERP_ROWS = 32  # rows per step of interpolated_precision


def _needed_hits(npos: torch.Tensor) -> torch.Tensor:
    """``rows × 101``: the true positives each recall level needs, ceil(i · npos / 100)."""
    levels = torch.arange(RECALL_LEVELS, device=npos.device, dtype=torch.int64)
    return (levels[None, :] * npos[:, None] + (RECALL_LEVELS - 2)) // (RECALL_LEVELS - 1)


def interpolated_precision(
    tps: torch.Tensor, npos: torch.Tensor, distinct: torch.Tensor, precision: torch.Tensor
) -> torch.Tensor:
    """Interpolated precision at the 101 recall levels (NaN for a query without positives); ties allowed.

    Args:
        tps: ``rows × Ng`` cumulative true positives in ranked order (int32).
        npos: Positives of each query.
        distinct: Whether each ranked position ends a group of tied scores.
        precision: ``rows × Ng`` precision at each ranked position.

    Returns:
        ``rows × 101`` float32.
    """
    need = _needed_hits(npos)
    first = torch.searchsorted(tps, need.to(tps.dtype).contiguous(), side="left").clamp_max_(tps.shape[1] - 1)
    out = torch.empty(first.shape, dtype=precision.dtype, device=precision.device)
    # best precision at each position or any later threshold (a suffix maximum), a few rows at a time: its
    # temporaries (cummax's int64 indices among them) add nothing to the block's peak memory
    for i in range(0, tps.shape[0], INTERP_ROWS):
        rows = slice(i, i + INTERP_ROWS)
        best_after = precision[rows].masked_fill(~distinct[rows], 0.0).flip(1).cummax(dim=1).values.flip(1)
        out[rows] = best_after.gather(1, first[rows])
    return out.masked_fill_((npos == 0)[:, None], math.nan)


def interpolated_precision_untied(t: torch.Tensor, npos: torch.Tensor, precision: torch.Tensor) -> torch.Tensor:
    """``interpolated_precision`` when no two scores of a row tie, from the positives' positions alone.

    Between two hits precision only falls, so the best precision at or after the hit that reaches a
    recall level is the best at that hit or a later one: a suffix maximum over each row's hits (about
    npos of them) instead of over the whole gallery. The values are the same float32 numbers.

    Args:
        t: ``rows × Ng`` whether each ranked position is a positive.
        npos: Positives of each query.
        precision: ``rows × Ng`` precision at each ranked position.
    """
    rows = t.shape[0]
    width = int(npos.max()) if rows else 0
    if width == 0:
        return torch.full((rows, RECALL_LEVELS), math.nan, dtype=precision.dtype, device=precision.device)
    row, col = t.nonzero(as_tuple=True)  # row-major: each row's hits in ranked order
    rank = torch.arange(len(row), device=t.device) - torch.repeat_interleave(npos.cumsum(0) - npos, npos)
    at_hits = torch.zeros(rows, width, dtype=precision.dtype, device=precision.device)
    at_hits[row, rank] = precision[row, col]  # the padding (0) after a row's hits never wins a maximum
    best_after = at_hits.flip(1).cummax(dim=1).values.flip(1)
    # level i needs hit ceil(i·npos/100), the first hit for level 0 (precision before it only rises to it)
    out = best_after.gather(1, (_needed_hits(npos).clamp_min(1) - 1).clamp_max(width - 1))
    return out.masked_fill_((npos == 0)[:, None], math.nan)
