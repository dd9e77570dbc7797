"""k-reciprocal re-ranking (Zhong et al., CVPR 2017) and average query expansion, on the CPU.

``re_ranking`` is torchreid's ``torchreid/utils/rerank.py`` (from the paper's authors' code) in torch:
the same inputs, steps and float32 arithmetic, with the per-row Python loops vectorised over blocks of
rows and the k-reciprocal encodings V kept sparse (a few dozen entries per row instead of a dense
N × N matrix). Only the squared distances stay dense: N² float32 with N = Nq + Ng, which is why
``MAX_RERANK_ITEMS`` bounds N.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F  # noqa: N812 - the usual name

from bridge.errors import BridgeValidationError
from evaluation.scoring import score_chunks

MAX_RERANK_ITEMS = 20_000  # N² float32 = 1.6 GB of distances at the limit; TS's config.ts holds the same number
BLOCK_ELEMENTS = 1 << 24  # elements of the per-block temporaries (bool, int64), about 128 MiB at most


def check_rerank(num_query: int, num_gallery: int, metric: str) -> None:
    """Refuse re-ranking where it cannot run: too many items for its dense matrices, or no distance."""
    if metric == "inner":
        raise BridgeValidationError(
            "re-ranking needs a distance and metric 'inner' has none: use metric 'cosine' (the same ranking "
            "for normalised embeddings), 'euclid' or 'sq_euclid'",
            "rerank",
        )
    total = num_query + num_gallery
    if total > MAX_RERANK_ITEMS:
        raise BridgeValidationError(
            f"re-ranking builds dense (Nq + Ng)² matrices and Nq + Ng = {total} exceeds its limit of "
            f"{MAX_RERANK_ITEMS} (about {4 * total * total / 2**30:.1f} GiB per matrix): evaluate without rerank, "
            "on a subset of the queries or of the gallery, or with averageReferences; queryExpansion works at any size",
            "rerank",
        )


def re_ranking(
    q_g_dist: torch.Tensor, q_q_dist: torch.Tensor, g_g_dist: torch.Tensor, k1: int, k2: int, lambda_value: float
) -> torch.Tensor:
    """The re-ranked Nq × Ng distances (float32) from the three distance matrices, as torchreid's ``re_ranking``."""
    # torchreid transposes the joint matrix after normalising its columns: build it transposed instead
    top = torch.cat([q_q_dist.T, q_g_dist], dim=1)
    bottom = torch.cat([q_g_dist.T, g_g_dist.T], dim=1)
    return _re_rank(torch.cat([top, bottom]).float(), q_g_dist.shape[0], k1, k2, lambda_value)


def reranked_scores(
    query: torch.Tensor, gallery: torch.Tensor, metric: str, k1: int, k2: int, lambda_value: float, chunk: int
) -> torch.Tensor:
    """Re-ranked Nq × Ng scores (minus the re-ranked distances: larger is more similar, as every score here).

    The distances are the metric's: 1 - cosine (torchreid's cosine distance) or minus the negated distances
    of ``euclid`` and ``sq_euclid``; re_ranking squares them, as torchreid does.
    """
    check_rerank(query.shape[0], gallery.shape[0], metric)
    items = torch.cat([query.cpu(), gallery.cpu()])
    dist = torch.empty(len(items), len(items), dtype=torch.float32)
    for start, scores in score_chunks(items, items, metric, chunk):
        block = dist[start : start + scores.shape[0]]
        block.copy_(scores)
        if metric == "cosine":
            block.neg_().add_(1)
        else:
            block.neg_()
    return _re_rank(dist, query.shape[0], k1, k2, lambda_value).neg_()


def _re_rank(dist: torch.Tensor, num_query: int, k1: int, k2: int, lambda_value: float) -> torch.Tensor:
    """The re-ranking of an N × N float32 matrix (overwritten): row i, the distances of every item to item i.

    That is the transpose of torchreid's joint matrix (the same for symmetric distances), so that its
    column normalisation becomes a row normalisation and every later step reads rows: transposing N²
    floats through a strided view cost 6 s at N = 20,000, more than the whole re-ranking.
    """
    n = dist.shape[0]
    dist.pow_(2)
    dist.div_(dist.max(dim=1, keepdim=True).values.clamp_min_(torch.finfo(torch.float32).tiny))
    rank = _initial_rank(dist, min(n, max(k1 + 1, k2)))
    v_rows, v_cols, v_vals = _encodings(dist, rank, k1)
    if k2 != 1:
        v_rows, v_cols, v_vals = _local_expansion(v_rows, v_cols, v_vals, rank[:, :k2], n)
    original = dist[:num_query, num_query:].clone()
    del dist
    jaccard = _jaccard(v_rows, v_cols, v_vals, num_query, n)
    return jaccard.mul_(1 - lambda_value).add_(original.mul_(lambda_value))


def _initial_rank(dist: torch.Tensor, m: int) -> torch.Tensor:
    """The first ``m`` columns of each row's ascending order (ties to the lower index), as a stable argsort would.

    A partial selection (topk) and a sort of the m chosen: a full sort of each row costs 10× more.
    """
    n = dist.shape[0]
    rank = torch.empty(n, m, dtype=torch.int64)
    step = max(1, BLOCK_ELEMENTS // (8 * n))
    for start in range(0, n, step):
        block = dist[start : start + step]
        if m == n:
            rank[start : start + step] = torch.sort(block, dim=1, stable=True).indices
            continue
        values, chosen = block.topk(m + 1, dim=1, largest=False)
        chosen = chosen[:, :m]
        tied = values[:, m - 1] == values[:, m]  # which of the tied ones come first depends on the index
        if bool(tied.any()):
            chosen[tied] = _first_k(block[tied], m, largest=False).nonzero()[:, 1].view(-1, m)
        chosen = chosen.sort(dim=1).values  # by index, then stably by value
        rank[start : start + step] = chosen.gather(1, torch.sort(block.gather(1, chosen), dim=1, stable=True).indices)
    return rank


def _first_k(values: torch.Tensor, k: int, largest: bool) -> torch.Tensor:
    """Mask of each row's first k entries in a stable sort (of the values tied with the k-th, the lowest-indexed)."""
    kth = values.topk(k, dim=1, largest=largest).values[:, -1:]
    better = values > kth if largest else values < kth
    tied = values == kth
    room = k - better.sum(dim=1, keepdim=True)
    return better | (tied & (tied.cumsum(dim=1, dtype=torch.int32) <= room))


def _reciprocal(rank: torch.Tensor, k: int) -> torch.Tensor:
    """Whether ``rank[i, a]`` (a < k) has i among its own first k neighbours: the k-reciprocal mask, N × k."""
    near = rank[:, :k]
    rows = torch.arange(len(near))[:, None, None]
    out = torch.empty(near.shape, dtype=torch.bool)
    step = max(1, BLOCK_ELEMENTS // (k * k))
    for start in range(0, len(near), step):
        out[start : start + step] = (near[near[start : start + step]] == rows[start : start + step]).any(dim=2)
    return out


def _encodings(dist: torch.Tensor, rank: torch.Tensor, k1: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The sparse k-reciprocal encodings V (rows, columns, values in row-major order).

    Row i holds its k1-reciprocal neighbours, grown by each neighbour's round(k1/2)-reciprocal set that
    shares more than 2/3 of its members with them, weighted by exp(-distance) and normalised to sum 1.
    """
    n = dist.shape[0]
    k = min(k1 + 1, n)
    h = min(int(round(k1 / 2)) + 1, n)  # round() halves to even, as numpy's around
    near, half = rank[:, :k], rank[:, :h]
    recip, recip_half = _reciprocal(rank, k), _reciprocal(rank, h)
    half_size = recip_half.sum(dim=1).double()
    parts: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []
    step = max(1, BLOCK_ELEMENTS // max(n, k * h))
    for start in range(0, n, step):
        nb = near[start : start + step]
        rows = len(nb)
        member = torch.zeros(rows, n + 1, dtype=torch.bool)  # column n: where the unused slots point
        member.scatter_(1, torch.where(recip[start : start + step], nb, n), True)
        member[:, n] = False
        cand = half[nb]  # rows × k × h: each neighbour's own nearest
        cand_ok = recip_half[nb]
        shared = (member.gather(1, cand.view(rows, -1)).view(cand.shape) & cand_ok).sum(dim=2)
        accept = recip[start : start + step] & (shared > 2.0 / 3 * half_size[nb])
        grown = torch.where(cand_ok & accept[:, :, None], cand, n).view(rows, -1)
        member.scatter_(1, grown, True)
        r, c = member[:, :n].nonzero(as_tuple=True)
        weight = torch.exp(-dist[r + start, c])
        total = torch.zeros(rows, dtype=torch.float32).index_add_(0, r, weight)
        parts.append((r + start, c, weight / total[r]))
    v_rows, v_cols, v_vals = (torch.cat(p) for p in zip(*parts, strict=True))
    return v_rows, v_cols, v_vals


def _local_expansion(
    rows: torch.Tensor, cols: torch.Tensor, vals: torch.Tensor, near: torch.Tensor, n: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """V_qe: each row of V replaced by the mean of the rows of its k2 nearest items (itself first)."""
    ptr = torch.zeros(n + 1, dtype=torch.int64)
    ptr[1:] = torch.bincount(rows, minlength=n).cumsum(0)
    source = near.reshape(-1)
    length = ptr[source + 1] - ptr[source]
    target = torch.arange(n).repeat_interleave(near.shape[1]).repeat_interleave(length)
    offset = torch.arange(int(length.sum())) - (length.cumsum(0) - length).repeat_interleave(length)
    entry = ptr[source].repeat_interleave(length) + offset
    # sum the entries that land on the same (row, column), in row-major order
    key, inverse = torch.unique(target * n + cols[entry], sorted=True, return_inverse=True)
    summed = torch.zeros(len(key), dtype=vals.dtype).index_add_(0, inverse, vals[entry])
    return key // n, key % n, summed / near.shape[1]


def _jaccard(rows: torch.Tensor, cols: torch.Tensor, vals: torch.Tensor, num_query: int, n: int) -> torch.Tensor:
    """Jaccard distance 1 - m / (2 - m) of each query to each gallery item, m = Σ_j min(V[q, j], V[g, j])."""
    num_gallery = n - num_query
    is_query = rows < num_query
    q_rows, q_cols, q_vals = rows[is_query], cols[is_query], vals[is_query]
    # gallery entries by column: torchreid's inverted index
    g_rows, g_cols, g_vals = rows[~is_query], cols[~is_query], vals[~is_query]
    order = torch.sort(g_cols, stable=True).indices
    g_rows, g_vals = g_rows[order] - num_query, g_vals[order]
    count = torch.bincount(g_cols, minlength=n)
    first = count.cumsum(0) - count
    length = count[q_cols]
    shared = torch.zeros(num_query * num_gallery, dtype=torch.float32)
    ends = length.cumsum(0)
    start = 0
    while start < len(q_cols):
        # as many query entries as keep their pairs within the block budget (at least one)
        done = int(ends[start - 1]) if start else 0
        stop = max(start + 1, int(torch.searchsorted(ends, done + BLOCK_ELEMENTS, right=True)))
        lens = length[start:stop]
        entry = torch.arange(start, stop).repeat_interleave(lens)
        offset = torch.arange(int(lens.sum())) - (lens.cumsum(0) - lens).repeat_interleave(lens)
        pos = first[q_cols[entry]] + offset
        shared.index_add_(0, q_rows[entry] * num_gallery + g_rows[pos], torch.minimum(q_vals[entry], g_vals[pos]))
        start = stop
    shared = shared.view(num_query, num_gallery)
    return shared.div_(2 - shared).neg_().add_(1)


def expand_queries(
    query: torch.Tensor, gallery: torch.Tensor, metric: str, k: int, chunk: int, normalize: bool
) -> torch.Tensor:
    """Average query expansion (alpha-QE with alpha 0), a block of queries at a time.

    Each query is replaced by the mean of itself and its k best-scoring gallery items (ties to the lower
    gallery index, as everywhere), renormalised when ``normalize``.
    """
    k = min(k, gallery.shape[0])
    q = query.float() if not query.is_floating_point() else query
    g = gallery.to(q.dtype)
    out = torch.empty_like(q)
    for start, scores in score_chunks(query, gallery, metric, chunk):
        take = _first_k(scores, k, largest=True)
        block = q[start : start + scores.shape[0]]
        mean = (block + take.to(g.dtype) @ g) / (k + 1)
        out[start : start + scores.shape[0]] = F.normalize(mean, dim=1) if normalize else mean
    return out
