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
        # the gallery's ids (the tensor itself), its columns sorted by label, and each label's count and start there
        self._gallery: tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor] | None = None

    def add(self, scores: torch.Tensor, q_ids: torch.Tensor, g_ids: torch.Tensor) -> None:
        """Count the pairs of one block of score rows (``rows × Ng``) with the label ids of its rows and columns."""
        if scores.numel() == 0:
            return
        # one pass for the range; min and max propagate NaN, so finite ends mean every score is finite
        lo_t, hi_t = torch.aminmax(scores)
        lo_val, hi_val = float(lo_t), float(hi_t)
        finite: torch.Tensor | None = None
        if not (math.isfinite(lo_val) and math.isfinite(hi_val)):
            # a diverged model's NaN embeddings reach fit's validation as they come: pairs without a
            # finite score are not counted (below, their index is put outside every bin)
            finite = torch.isfinite(scores)
            if not bool(finite.any()):
                return
            kept = scores[finite]
            lo_val, hi_val = float(kept.min()), float(kept.max())
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
        # grid indices as floats holding integers: x·2**-e and floor are exact in any float dtype; histc
        # then bins them with edges half-way between integers, which float32 holds exactly below 2**22
        small = scores.dtype != torch.float64 and max(abs(self.lo), abs(self.lo + size)) < 2**22
        dtype = torch.float32 if small else torch.float64
        positives = self._positive_scores(scores, q_ids, g_ids)
        if finite is not None:
            positives = positives[torch.isfinite(positives)]
        pos = torch.bincount(self._grid(positives, dtype).to(torch.int64).cpu() - self.lo, minlength=size)
        idx = self._grid(scores, dtype)
        if finite is not None:
            idx[~finite] = self.lo - 1  # outside histc's range
        # on at most 2**24 scores at a time: histc's float32 counts are exact up to there
        total = torch.zeros(size, dtype=torch.int64)
        step = max(1, 2**24 // max(1, idx.shape[1]))
        for start in range(0, idx.shape[0], step):
            part = torch.histc(idx[start : start + step], bins=size, min=self.lo - 0.5, max=self.lo + size - 0.5)
            total += part.to(torch.int64).cpu()
        del idx
        self.pos += pos
        self.neg += total - pos

    def _grid(self, scores: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
        """floor(score / 2**exponent) of every score, in ``dtype`` (a new tensor)."""
        assert self.exponent is not None
        return scores.to(dtype).mul(2.0 ** (-self.exponent)).floor_()

    def _positive_scores(self, scores: torch.Tensor, q_ids: torch.Tensor, g_ids: torch.Tensor) -> torch.Tensor:
        """The scores of the block's positive pairs, gathered by label: positives are few, a mask over all is not."""
        if self._gallery is None or self._gallery[0] is not g_ids:
            ids = g_ids.cpu()
            counts = torch.bincount(ids)
            self._gallery = (g_ids, torch.argsort(ids, stable=True), counts, counts.cumsum(0) - counts)
        _, columns_by_label, counts, starts = self._gallery
        q = q_ids.cpu()
        known = q < len(counts)
        label = torch.where(known, q, 0)
        per_row = torch.where(known, counts[label], 0)
        rows = torch.repeat_interleave(torch.arange(len(q)), per_row)
        offset = torch.arange(len(rows)) - torch.repeat_interleave(per_row.cumsum(0) - per_row, per_row)
        cols = columns_by_label[starts[label][rows] + offset]
        return scores[rows.to(scores.device), cols.to(scores.device)]

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
