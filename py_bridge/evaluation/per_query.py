"""Every per-query quantity of a block of score rows, from one stable sort: the core of all metrics.

Ties in score are broken towards the lower gallery index everywhere a ranking is needed (top-k,
CMC, kNN, precision@1, R-precision, MAP@R), as a stable descending sort does.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from bridge.errors import BridgeValidationError
from evaluation.interpolated import interpolated_precision, interpolated_precision_untied
from evaluation.scoring import DEFAULT_CHUNK, Labels, encode_labels

NO_HIT = torch.iinfo(torch.int64).max  # first correct rank of a query without positives: never within k
GRID_K = 5  # gallery matches per query in the report's retrieval grid, whatever k is


def untied(distinct: torch.Tensor) -> bool:
    """Whether every ranked position ends its own group of tied scores (a sync on CUDA, once a block)."""
    return bool(distinct.all())


def chunk_stats(
    scores: torch.Tensor, q_ids: torch.Tensor, g_ids: torch.Tensor, k: int, curves: bool = False
) -> dict[str, Any]:
    """Every per-query quantity of one block of score rows.

    The rows are sorted once, descending and stable, so tied scores keep gallery order.

    Args:
        scores: ``rows × Ng`` scores.
        q_ids: Label id of each row.
        g_ids: Label id of each gallery column.
        k: Neighbours for top-k, CMC and kNN (capped at the gallery size).
        curves: Whether to return each query's precision-recall curve.

    Returns:
        A dict of per-query tensors (on the CPU) and, with ``curves``, lists of curve tensors.
    """
    n = scores.shape[1]
    dev = scores.device
    q_ids = q_ids.to(dev)
    g_ids = g_ids.to(dev)
    k = min(k, n)
    arange_n = torch.arange(n, device=dev)
    u8 = torch.uint8

    # big per-position arrays are int32/float32/bool and die early: the peak is about 50 bytes × rows × Ng
    s, order = torch.sort(scores, dim=1, descending=True, stable=True)
    top_idx = order[:, :k].clone()
    grid_idx = order[:, :GRID_K].clone()
    t = g_ids[order] == q_ids[:, None]  # targets in ranked order
    del order
    tps = t.cumsum(dim=1, dtype=torch.int32)
    npos = tps[:, -1].to(torch.int64)
    has_pos = npos > 0
    npos_f = npos.to(torch.float64)

    # ranking metrics: first correct rank, top-k labels, kNN vote
    first_hit = torch.where(has_pos, t.to(u8).argmax(dim=1), NO_HIT)
    top_scores = s[:, :k].clone()
    top_labels = g_ids[top_idx]
    votes = (top_labels[:, :, None] == top_labels[:, None, :]).sum(dim=2)  # rows × k × k: k is small
    knn_pred = top_labels.gather(1, votes.argmax(dim=1, keepdim=True)).squeeze(1)  # first max = nearest

    # precision-recall over distinct thresholds: the last position of each group of tied scores
    distinct = torch.ones_like(t)
    distinct[:, :-1] = s[:, :-1] != s[:, 1:]
    precision = tps / torch.arange(1, n + 1, device=dev, dtype=torch.float32)
    # AP = Σ over thresholds of (positives gained there) × precision there, / positives
    if untied(distinct):  # no tied scores (the usual case with float scores): every position is a threshold
        ap = torch.where(has_pos, (t * precision).sum(dim=1, dtype=torch.float64) / npos_f.clamp_min(1), 0.0)
        pr_interp = interpolated_precision_untied(t, npos, precision)
    else:
        prev = torch.zeros_like(tps)
        prev[:, 1:] = torch.where(distinct[:, :-1], tps[:, :-1], 0)
        prev = prev.cummax(dim=1).values  # positives above the group each position belongs to
        gain = torch.where(distinct, tps - prev, 0)
        del prev
        ap = torch.where(has_pos, (gain * precision).sum(dim=1, dtype=torch.float64) / npos_f.clamp_min(1), 0.0)
        del gain
        pr_interp = interpolated_precision(tps, npos, distinct, precision)

    # the curve stops at the first threshold with full recall
    first_full = (distinct & (tps == npos[:, None].to(torch.int32))).to(u8).argmax(dim=1)
    valid = distinct & (arange_n[None, :] <= first_full[:, None])
    del distinct
    recall = tps / npos_f.clamp_min(1).to(torch.float32)[:, None]
    recall[~has_pos] = 1.0  # recognite: a query without positives has recall 1 (and precision 0)
    f1 = (2 * precision * recall / (precision + recall)).nan_to_num_(0.0).masked_fill_(~valid, -1.0)
    is_max = f1 == f1.max(dim=1, keepdim=True).values
    best = (n - 1) - is_max.flip(1).to(u8).argmax(dim=1)  # max F1, ties to the lowest threshold like recognite
    del is_max
    at = best[:, None]

    # pytorch-metric-learning: R = number of gallery items with the query's label
    r_tps = tps.gather(1, (npos - 1).clamp_min(0)[:, None]).squeeze(1)
    r_prec = torch.where(has_pos, r_tps / npos_f, math.nan)
    hits_in_r = t & (arange_n[None, :] < npos[:, None])
    map_r = torch.where(has_pos, (hits_in_r * precision).sum(dim=1, dtype=torch.float64) / npos_f, math.nan)
    del hits_in_r

    # hardest positive (lowest-scoring) and hardest negative (highest-scoring); NaN when absent
    last_pos = torch.where(has_pos, n - 1 - t.flip(1).to(u8).argmax(dim=1), 0)
    hard_pos = torch.where(has_pos, s.gather(1, last_pos[:, None]).squeeze(1), math.nan)
    has_neg = npos < n
    first_neg = (~t).to(u8).argmax(dim=1)
    hard_neg = torch.where(has_neg, s.gather(1, first_neg[:, None]).squeeze(1), math.nan)
    best_pos = torch.where(has_pos, s.gather(1, first_hit.clamp_max(n - 1)[:, None]).squeeze(1), math.nan)
    # inverse negative penalty (Ye et al. 2021): positives / rank of the last one, 1 when none trails a negative
    inp = torch.where(has_pos, npos_f / (last_pos + 1).to(torch.float64), math.nan)

    out: dict[str, Any] = {
        "first_hit": first_hit,
        "top_idx": top_idx,
        "top_scores": top_scores,
        "grid_idx": grid_idx,
        "grid_scores": s[:, :GRID_K].clone(),
        "pr_interp": pr_interp,
        "knn_pred": knn_pred,
        "ap": ap,
        "npos": npos,
        "p_at_max_f1": precision.gather(1, at).squeeze(1),
        "r_at_max_f1": recall.gather(1, at).squeeze(1),
        "t_at_max_f1": s.gather(1, at).squeeze(1),
        "max_f1": f1.gather(1, at).squeeze(1),
        "r_precision": r_prec,
        "map_at_r": map_r,
        "hard_pos": hard_pos,
        "hard_neg": hard_neg,
        "best_pos": best_pos,
        "best_neg": hard_neg,
        "inp": inp,
    }
    out = {key: value.cpu() for key, value in out.items()}
    if curves:
        out["curves"] = _curves(s, precision, recall, valid)
    return out


def _curves(
    s: torch.Tensor, precision: torch.Tensor, recall: torch.Tensor, valid: torch.Tensor
) -> tuple[list[torch.Tensor], list[torch.Tensor], list[torch.Tensor]]:
    """Per-query curves in recognite's layout: ascending thresholds, then the point (P=1, R=0)."""
    ps, rs, ths = [], [], []
    one = torch.ones(1, dtype=precision.dtype)
    zero = torch.zeros(1, dtype=precision.dtype)
    for p, r, th, v in zip(precision.cpu(), recall.cpu(), s.cpu(), valid.cpu(), strict=True):
        ps.append(torch.cat([p[v].flip(0), one]))
        rs.append(torch.cat([r[v].flip(0), zero]))
        ths.append(th[v].flip(0))
    return ps, rs, ths


def stats_of_scores(
    scores: torch.Tensor,
    gallery_labels: Labels,
    query_labels: Labels,
    k: int = 1,
    chunk: int = DEFAULT_CHUNK,
    curves: bool = False,
) -> tuple[dict[str, Any], torch.Tensor, torch.Tensor, list[Any]]:
    """``chunk_stats`` over a whole score matrix, a block of rows at a time."""
    (q_ids, g_ids), names = encode_labels(query_labels, gallery_labels)
    _check_scores(scores, len(q_ids), len(g_ids))
    if k < 1:
        raise BridgeValidationError(f"k must be at least 1, got {k}", "k")
    if chunk < 1:
        raise BridgeValidationError(f"chunk must be at least 1, got {chunk}", "chunk")
    blocks = BlockStats(scores.shape[0])
    for i in range(0, scores.shape[0], chunk):
        blocks.add(i, chunk_stats(scores[i : i + chunk], q_ids[i : i + chunk], g_ids, k, curves))
    return blocks.result(), q_ids, g_ids, names


def _check_scores(scores: torch.Tensor, n_query: int, n_gallery: int) -> None:
    if scores.dim() != 2 or scores.shape[0] != n_query:
        raise BridgeValidationError("first dim of scores should equal the number of queries", "scores")
    if scores.shape[1] != n_gallery:
        raise BridgeValidationError("second dim of scores should equal the number of gallery items", "scores")
    if n_gallery == 0:
        raise BridgeValidationError("the gallery is empty", "gallery")


class BlockStats:
    """The per-query stats of consecutive blocks of rows, written into arrays made once for all the rows.

    Each block's temporaries are large and freed when it ends; what it returns is small and lives on.
    Kept as one small tensor per block (and joined at the end), those survivors lay scattered between
    the freed chunks of the next blocks' temporaries, so glibc's heap kept growing: measured at 3,000 ×
    100,000 (``node scripts/py.mjs bench/evaluate_heap.py kept|placed|trim``), 2.45 GiB of extra peak memory
    kept per block, 0.62–0.67 GiB written into place, and 0.59 GiB with a ``malloc_trim`` after each
    block, which cost 15 % in time. Written into place, a block frees everything it made.
    """

    def __init__(self, rows: int) -> None:
        """Stats for ``rows`` rows in all; the arrays are made when the first block shows their types."""
        self.rows = rows
        self.stats: dict[str, torch.Tensor] = {}
        self.curves: list[tuple[list[torch.Tensor], ...]] = []

    def add(self, start: int, part: dict[str, Any]) -> None:
        """Write the stats of the block whose first row is ``start``."""
        curves = part.pop("curves", None)
        if curves is not None:
            self.curves.append(curves)
        for key, value in part.items():
            if key not in self.stats:
                self.stats[key] = torch.empty((self.rows, *value.shape[1:]), dtype=value.dtype)
            self.stats[key][start : start + len(value)].copy_(value)

    def result(self) -> dict[str, Any]:
        """The stats of all the rows (curves, when asked for, as lists in row order)."""
        out: dict[str, Any] = dict(self.stats)
        if self.curves:
            out["curves"] = tuple(sum((list(c[i]) for c in self.curves), []) for i in range(3))
        return out


def cmc_from_first_hit(first_hit: torch.Tensor, k: int) -> torch.Tensor:
    """Top-r accuracy for r = 1..k from each query's first correct rank."""
    ranks = torch.arange(1, k + 1)
    return (first_hit[:, None] < ranks[None, :]).double().mean(dim=0)


def pr_summary(stats: dict[str, Any], q_ids: torch.Tensor, names: list[Any]) -> dict[str, Any]:
    """The keys of recognite's ``pr_metrics`` from per-query stats, plus mAP with positives and AP per label."""
    ap = stats["ap"]
    has_pos = stats["npos"] > 0
    per_label = torch.zeros(len(names), dtype=torch.float64).index_add_(0, q_ids, ap)
    counts = torch.bincount(q_ids, minlength=len(names))
    return {
        "AP": ap,
        "mAP": float(ap.mean()),
        "mAP_with_positives": float(ap[has_pos].mean()) if bool(has_pos.any()) else math.nan,
        "AP_per_label": {names[i]: float(per_label[i] / counts[i]) for i in torch.nonzero(counts).flatten().tolist()},
        "P@maxF1": stats["p_at_max_f1"],
        "R@maxF1": stats["r_at_max_f1"],
        "T@maxF1": stats["t_at_max_f1"],
        "maxF1": stats["max_f1"],
    }


def pml_summary(stats: dict[str, Any]) -> dict[str, float]:
    """precision@1, R-precision and MAP@R over the queries with positives (pytorch-metric-learning's rules)."""
    keep = stats["npos"] > 0
    if not bool(keep.any()):
        return {"precision_at_1": 0.0, "r_precision": 0.0, "map_at_r": 0.0}
    return {
        "precision_at_1": float((stats["first_hit"][keep] == 0).double().mean()),
        "r_precision": float(stats["r_precision"][keep].mean()),
        "map_at_r": float(stats["map_at_r"][keep].mean()),
    }
