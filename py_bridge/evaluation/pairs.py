"""Histograms of positive-pair and negative-pair scores, filled block by block as the score matrix is made.

The scores' range is only known once every block has been seen, so the counts live on a grid of
bins of width 2**e (bin i holds [i·2**e, (i+1)·2**e)). When a block widens the range past
``FINE_BINS`` bins, e grows and pairs of bins merge: ``floor(floor(x / 2**e) / 2) = floor(x / 2**(e+1))``
exactly, so the result is the histogram of the smallest e whose grid covers every score in at most
``FINE_BINS`` bins, whatever the block size (chunked and unchunked runs count the same). At the end,
fine bins are grouped into at most ``bins`` (50) equal bins.
"""

from __future__ import annotations

import math
from typing import Any

import torch

FINE_BINS = 3200
HISTOGRAM_BINS = 50
MIN_EXPONENT = -24  # bins no narrower than 2**-24 ≈ 6e-8: a constant score still gets a bin of some width


class PairHistogram:
    """Counts of positive pairs (query and gallery item share a label) and negative pairs, over shared bins."""

    def __init__(self, fine_bins: int = FINE_BINS) -> None:
        """An empty histogram; ``fine_bins`` is the resolution kept while blocks arrive."""
        self.fine_bins = fine_bins
        self.exponent: int | None = None
        self.lo = 0  # grid index of the first fine bin
        self.pos = torch.zeros(0, dtype=torch.int64)
        self.neg = torch.zeros(0, dtype=torch.int64)

    def add(self, scores: torch.Tensor, q_ids: torch.Tensor, g_ids: torch.Tensor) -> None:
        """Count the pairs of one block of score rows (``rows × Ng``) with the label ids of its rows and columns."""
        if scores.numel() == 0:
            return
        # a diverged model's NaN embeddings reach fit's validation as they come: pairs without a finite
        # score are not counted (below, their index is put outside every bin)
        finite = torch.isfinite(scores)
        if not bool(finite.any()):
            return
        all_finite = bool(finite.all())
        if not all_finite:
            scores = torch.where(finite, scores, scores[finite].min())
        lo_val, hi_val = float(scores.min()), float(scores.max())
        if self.exponent is None:
            self.exponent = max(MIN_EXPONENT, _first_exponent(lo_val, hi_val, self.fine_bins))
        # widen the grid until the old bins and this block fit together
        while True:
            lo, hi = _index(lo_val, self.exponent), _index(hi_val, self.exponent)
            if len(self.pos):
                lo, hi = min(lo, self.lo), max(hi, self.lo + len(self.pos) - 1)
            if hi - lo + 1 <= self.fine_bins:
                break
            self._coarsen()
        self._extend(lo, hi)
        size = len(self.pos)
        # grid index - lo of every score, as floats holding integers: x·2**-e and floor are exact in any float
        # dtype, and the subtraction too while the indices stay below 2**24 (float32's integers), else in float64
        small = scores.dtype != torch.float64 and max(abs(self.lo), abs(self.lo + size)) < 2**24
        idx = scores.to(torch.float32 if small else torch.float64).mul(2.0 ** (-self.exponent)).floor_().sub_(self.lo)
        same = g_ids.to(scores.device)[None, :] == q_ids.to(scores.device)[:, None]
        if not all_finite:
            idx[~finite] = -1.0  # outside histc's range
            same &= finite
        pos = torch.bincount(idx[same].to(torch.int64).cpu(), minlength=size)  # positives are few: a masked copy
        del same
        # histc with bins centred on the integers (rounding in its arithmetic cannot carry an integer across
        # an edge), on at most 2**24 scores at a time (its float32 counts are exact up to there)
        total = torch.zeros(size, dtype=torch.int64)
        step = max(1, 2**24 // max(1, idx.shape[1]))
        for start in range(0, idx.shape[0], step):
            part = torch.histc(idx[start : start + step], bins=size, min=-0.5, max=size - 0.5)
            total += part.to(torch.int64).cpu()
        del idx
        self.pos += pos
        self.neg += total - pos

    def _coarsen(self) -> None:
        """Merge bins in pairs: the grid's exponent grows by one."""
        assert self.exponent is not None
        self.exponent += 1
        if not len(self.pos):
            return
        new_lo = self.lo // 2  # Python's floor division: right for negative indices too
        target = torch.arange(self.lo, self.lo + len(self.pos)).div(2, rounding_mode="floor") - new_lo
        size = int(target[-1]) + 1
        self.pos = torch.zeros(size, dtype=torch.int64).index_add_(0, target, self.pos)
        self.neg = torch.zeros(size, dtype=torch.int64).index_add_(0, target, self.neg)
        self.lo = new_lo

    def _extend(self, lo: int, hi: int) -> None:
        """Make room for grid indices ``lo``…``hi`` (zero counts in the new bins)."""
        if not len(self.pos):
            self.lo = lo
            self.pos = torch.zeros(hi - lo + 1, dtype=torch.int64)
            self.neg = torch.zeros(hi - lo + 1, dtype=torch.int64)
            return
        before, after = self.lo - lo, hi - (self.lo + len(self.pos) - 1)
        pad = (max(before, 0), max(after, 0))
        self.pos = torch.nn.functional.pad(self.pos, pad)
        self.neg = torch.nn.functional.pad(self.neg, pad)
        self.lo = min(self.lo, lo)

    def result(self, bins: int = HISTOGRAM_BINS) -> dict[str, Any]:
        """At most ``bins`` equal bins: ``edges`` (one more than the bins), ``positive`` and ``negative`` counts."""
        if self.exponent is None or not len(self.pos):
            return {"edges": [], "positive": [], "negative": []}
        group = math.ceil(len(self.pos) / bins)
        count = math.ceil(len(self.pos) / group)
        pad = count * group - len(self.pos)
        pos = torch.nn.functional.pad(self.pos, (0, pad)).view(count, group).sum(dim=1)
        neg = torch.nn.functional.pad(self.neg, (0, pad)).view(count, group).sum(dim=1)
        width = 2.0**self.exponent
        edges = [(self.lo + j * group) * width for j in range(count + 1)]
        return {"edges": edges, "positive": pos.tolist(), "negative": neg.tolist()}


def _index(value: float, exponent: int) -> int:
    """The grid index of ``value``: floor(value / 2**exponent)."""
    return math.floor(math.ldexp(value, -exponent))


def _first_exponent(lo: float, hi: float, fine_bins: int) -> int:
    """A lower bound of the smallest exponent covering [lo, hi] in ``fine_bins`` bins (the caller widens it)."""
    span = hi - lo
    if span <= 0 or not math.isfinite(span):
        return MIN_EXPONENT
    return math.floor(math.log2(span / fine_bins)) - 1
