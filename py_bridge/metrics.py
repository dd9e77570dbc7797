"""Recognition metrics over query and gallery embeddings, computed in bounded memory.

recognite's evaluation code (``recognite.eval``, ``recognite.utils``) builds the full
queries × gallery score matrix, and its Euclidean scores even an Nq × Ng × D tensor. Here the
score matrix is produced and consumed in blocks of query rows (``chunk``), every metric is a
per-query quantity reduced at the end, and chunked and unchunked runs give identical numbers.

The definitions follow recognite, with these deliberate differences:

* ``cosine`` normalises each embedding by its own norm (recognite divides a batch by a norm
  vector without ``keepdim``, which broadcasts along the wrong axis and fails when the batch
  size differs from the embedding size).
* Ties in score are broken towards the lower gallery index everywhere a ranking is needed
  (top-k, CMC, kNN, precision@1, R-precision, MAP@R), as a stable descending sort does;
  recognite uses an unstable ``argsort``.
* ``pr_metrics`` gives recognite's numbers (tied scores form one threshold; the curve stops at
  the first threshold reaching full recall) and also works for a single query, where recognite's
  ``_ap_from_pr`` takes its one-class branch and fails on a list of curves.
* ``hard_pos_neg_scores`` returns one entry per query, NaN where a query has no positive or no
  negative; recognite drops those queries, so its two lists no longer line up with the queries.
* kNN majority-vote ties go to the label whose first vote is the nearest neighbour; recognite's
  ``torch.mode`` picks the smallest label.
* ``average_references`` can re-normalise the averaged embeddings (recognite's ``avg_ref_embs``
  returns the plain means, which are shorter than unit length).

Labels may be integers or strings: they are mapped to integer ids before anything else.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import Any

import torch
import torch.nn.functional as F  # noqa: N812 - the usual name

from bridge_errors import BridgeValidationError

METRICS = ("inner", "cosine", "euclid", "sq_euclid")
DEFAULT_CHUNK = 1024
DEFAULT_FAR_TARGETS = (0.01, 0.001)
_NO_HIT = torch.iinfo(torch.int64).max  # first correct rank of a query without positives: never within k

Labels = torch.Tensor | Sequence[Any]


# --------------------------------------------------------------------------- labels


def encode_labels(*label_sets: Labels) -> tuple[list[torch.Tensor], list[Any]]:
    """Map labels of any hashable kind to shared integer ids.

    Args:
        *label_sets: Label sequences (lists, numpy arrays or 1-D tensors) sharing one label space.

    Returns:
        One ``int64`` id tensor per label set, and the label of each id. Ids follow the sorted
        order of the labels when they can be sorted, else their order of first appearance.
    """
    if all(isinstance(s, torch.Tensor) and not s.is_floating_point() for s in label_sets):
        sizes = [s.numel() for s in label_sets]
        flat = torch.cat([s.reshape(-1).to(torch.int64).cpu() for s in label_sets])
        names, inverse = torch.unique(flat, sorted=True, return_inverse=True)
        return list(inverse.split(sizes)), names.tolist()
    python_sets = [_to_python_list(s) for s in label_sets]
    seen: dict[Any, None] = {}
    for labels in python_sets:
        for label in labels:
            seen.setdefault(label, None)
    try:
        ordered = sorted(seen)
    except TypeError:
        ordered = list(seen)
    index = {label: i for i, label in enumerate(ordered)}
    return [torch.tensor([index[x] for x in labels], dtype=torch.int64) for labels in python_sets], ordered


def _to_python_list(labels: Labels) -> list[Any]:
    """Plain Python values (``tolist`` turns numpy and torch scalars into ``int``/``str``)."""
    if hasattr(labels, "tolist"):
        out = labels.tolist()
        return out if isinstance(out, list) else [out]
    return list(labels)


# --------------------------------------------------------------------------- scores


def _float_dtype(emb: torch.Tensor) -> torch.dtype:
    """float64 stays, every other dtype (half precision, integers) computes in float32."""
    return torch.float64 if emb.dtype == torch.float64 else torch.float32


def _prepare(emb: torch.Tensor, metric: str) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Embeddings ready for the metric's matrix product, and squared norms for the distances."""
    if emb.dim() != 2:
        raise BridgeValidationError(f"embeddings must be 2-D (rows × dims), got shape {tuple(emb.shape)}", "embeddings")
    if metric == "cosine":
        return F.normalize(emb, dim=1), None
    if metric in ("euclid", "sq_euclid"):
        # float64 keeps |q|² + |g|² - 2 q·g from cancelling away small distances
        emb = emb.double()
        return emb, emb.pow(2).sum(dim=1)
    if metric == "inner":
        return emb, None
    raise BridgeValidationError(f"unknown metric {metric!r}; expected one of {', '.join(METRICS)}", "metric")


def score_chunks(
    query: torch.Tensor, gallery: torch.Tensor, metric: str = "cosine", chunk: int = DEFAULT_CHUNK
) -> Iterator[tuple[int, torch.Tensor]]:
    """Yield the query × gallery score matrix in blocks of query rows.

    Larger is more similar for every metric: distances are negated. Only a ``chunk × Ng``
    block exists at a time, never an ``Nq × Ng × D`` tensor.

    Args:
        query: Query embeddings, one per row.
        gallery: Gallery embeddings, one per row, same width as ``query``.
        metric: ``"inner"`` (dot product), ``"cosine"`` (dot product of unit vectors),
            ``"euclid"`` (minus the Euclidean distance) or ``"sq_euclid"`` (minus its square).
        chunk: Number of query rows per block.

    Yields:
        ``(start, scores)``: the index of the block's first query and its ``rows × Ng`` scores,
        in the embeddings' floating dtype (float32 for half precision and integer input).
    """
    if chunk < 1:
        raise BridgeValidationError(f"chunk must be at least 1, got {chunk}", "chunk")
    dtype = torch.promote_types(_float_dtype(query), _float_dtype(gallery))
    g, g_sq = _prepare(gallery.to(dtype), metric)
    q, q_sq = _prepare(query.to(dtype), metric)
    if q.shape[1] != g.shape[1]:
        raise BridgeValidationError(
            f"query embeddings have {q.shape[1]} dims but gallery embeddings have {g.shape[1]}", "embeddings"
        )
    g_t = g.T
    for start in range(0, q.shape[0], chunk):
        block = q[start : start + chunk]
        scores = block @ g_t
        if q_sq is not None and g_sq is not None:
            sq = (q_sq[start : start + chunk, None] + g_sq[None, :] - 2 * scores).clamp_min_(0)
            scores = -(sq.sqrt_() if metric == "euclid" else sq)
            scores = scores.to(dtype)
        yield start, scores


def score_matrix(query: torch.Tensor, gallery: torch.Tensor, metric: str = "cosine") -> torch.Tensor:
    """The whole score matrix at once (for small sets and tests); see ``score_chunks``."""
    return torch.cat([s for _, s in score_chunks(query, gallery, metric, chunk=max(1, query.shape[0]))])


# --------------------------------------------------------------------------- per-query core


def _chunk_stats(
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
    t = g_ids[order] == q_ids[:, None]  # targets in ranked order
    del order
    tps = t.cumsum(dim=1, dtype=torch.int32)
    npos = tps[:, -1].to(torch.int64)
    has_pos = npos > 0
    npos_f = npos.to(torch.float64)

    # ranking metrics: first correct rank, top-k labels, kNN vote
    first_hit = torch.where(has_pos, t.to(u8).argmax(dim=1), _NO_HIT)
    top_scores = s[:, :k].clone()
    top_labels = g_ids[top_idx]
    votes = (top_labels[:, :, None] == top_labels[:, None, :]).sum(dim=2)  # rows × k × k: k is small
    knn_pred = top_labels.gather(1, votes.argmax(dim=1, keepdim=True)).squeeze(1)  # first max = nearest

    # precision-recall over distinct thresholds: the last position of each group of tied scores
    distinct = torch.ones_like(t)
    distinct[:, :-1] = s[:, :-1] != s[:, 1:]
    precision = tps / torch.arange(1, n + 1, device=dev, dtype=torch.float32)
    # AP = Σ over thresholds of (positives gained there) × precision there, / positives
    prev = torch.zeros_like(tps)
    prev[:, 1:] = torch.where(distinct[:, :-1], tps[:, :-1], 0)
    prev = prev.cummax(dim=1).values  # positives above the group each position belongs to
    gain = torch.where(distinct, tps - prev, 0)
    del prev
    ap = torch.where(has_pos, (gain * precision).sum(dim=1, dtype=torch.float64) / npos_f.clamp_min(1), 0.0)
    del gain

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

    out: dict[str, Any] = {
        "first_hit": first_hit,
        "top_idx": top_idx,
        "top_scores": top_scores,
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


def _stats(
    scores: torch.Tensor,
    gallery_labels: Labels,
    query_labels: Labels,
    k: int = 1,
    chunk: int = DEFAULT_CHUNK,
    curves: bool = False,
) -> tuple[dict[str, Any], torch.Tensor, torch.Tensor, list[Any]]:
    """``_chunk_stats`` over a whole score matrix, a block of rows at a time."""
    (q_ids, g_ids), names = encode_labels(query_labels, gallery_labels)
    _check_scores(scores, len(q_ids), len(g_ids))
    if k < 1:
        raise BridgeValidationError(f"k must be at least 1, got {k}", "k")
    if chunk < 1:
        raise BridgeValidationError(f"chunk must be at least 1, got {chunk}", "chunk")
    parts = [
        _chunk_stats(scores[i : i + chunk], q_ids[i : i + chunk], g_ids, k, curves)
        for i in range(0, scores.shape[0], chunk)
    ]
    return _concat(parts), q_ids, g_ids, names


def _check_scores(scores: torch.Tensor, n_query: int, n_gallery: int) -> None:
    if scores.dim() != 2 or scores.shape[0] != n_query:
        raise BridgeValidationError("first dim of scores should equal the number of queries", "scores")
    if scores.shape[1] != n_gallery:
        raise BridgeValidationError("second dim of scores should equal the number of gallery items", "scores")
    if n_gallery == 0:
        raise BridgeValidationError("the gallery is empty", "gallery")


def _concat(parts: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in parts[0]:
        if key == "curves":
            out[key] = tuple(sum((list(p[key][i]) for p in parts), []) for i in range(3))
        else:
            out[key] = torch.cat([p[key] for p in parts])
    return out


# --------------------------------------------------------------------------- public metrics on scores


def accuracy(scores: torch.Tensor, gallery_labels: Labels, query_labels: Labels, chunk: int = DEFAULT_CHUNK) -> float:
    """Top-1 accuracy: the fraction of queries whose best-scoring gallery item has their label.

    Tied best scores go to the lowest gallery index (as ``argmax``). Queries whose label is not in
    the gallery count as wrong (recognite's convention).

    Args:
        scores: Scores, queries (rows) × gallery items (columns).
        gallery_labels: Label of each gallery item.
        query_labels: Label of each query.
        chunk: Rows processed at a time.

    Returns:
        The accuracy in [0, 1].
    """
    return top_k_accuracy(scores, gallery_labels, query_labels, 1, chunk)


def top_k_accuracy(
    scores: torch.Tensor, gallery_labels: Labels, query_labels: Labels, k: int, chunk: int = DEFAULT_CHUNK
) -> float:
    """The fraction of queries with their label among the k best-scoring gallery items.

    Ties are broken towards the lower gallery index; ``k`` beyond the gallery size means all of it.

    Args:
        scores: Scores, queries (rows) × gallery items (columns).
        gallery_labels: Label of each gallery item.
        query_labels: Label of each query.
        k: Number of best-scoring items to look at.
        chunk: Rows processed at a time.

    Returns:
        The accuracy in [0, 1].
    """
    stats, *_ = _stats(scores, gallery_labels, query_labels, k, chunk)
    return float((stats["first_hit"] < k).double().mean())


def cmc(
    scores: torch.Tensor, gallery_labels: Labels, query_labels: Labels, k: int, chunk: int = DEFAULT_CHUNK
) -> torch.Tensor:
    """Cumulative match characteristic: top-r accuracy for r = 1..k (a tensor of k values).

    Queries without a positive in the gallery never match; ranks beyond the gallery repeat the last value.

    Args:
        scores: Scores, queries (rows) × gallery items (columns).
        gallery_labels: Label of each gallery item.
        query_labels: Label of each query.
        k: Highest rank.
        chunk: Rows processed at a time.

    Returns:
        ``float64`` tensor of ``k`` values.
    """
    stats, *_ = _stats(scores, gallery_labels, query_labels, 1, chunk)
    return _cmc_from_first_hit(stats["first_hit"], k)


def _cmc_from_first_hit(first_hit: torch.Tensor, k: int) -> torch.Tensor:
    ranks = torch.arange(1, k + 1)
    return (first_hit[:, None] < ranks[None, :]).double().mean(dim=0)


def pr_metrics(
    scores: torch.Tensor,
    gallery_labels: Labels,
    query_labels: Labels,
    chunk: int = DEFAULT_CHUNK,
    return_curves: bool = False,
) -> dict[str, Any]:
    """Precision-recall metrics per query, as recognite's ``pr_metrics`` defines them.

    Each query ranks the gallery by score; its curve has one point per distinct score threshold
    (accept everything scoring at least the threshold), down to the first threshold that reaches
    full recall, followed by the point (precision 1, recall 0). AP is the step integral
    ``sum((R_i - R_{i-1}) * P_i)``. A query without positives gets recognite's values: one point
    with precision 0 and recall 1 at the top score, so AP 0, P@maxF1 0, R@maxF1 1, maxF1 0.
    The max-F1 point prefers the lowest threshold on ties, as recognite's ``argmax`` over its
    ascending curve does.

    Args:
        scores: Scores, queries (rows) × gallery items (columns).
        gallery_labels: Label of each gallery item.
        query_labels: Label of each query.
        chunk: Rows processed at a time.
        return_curves: Whether to add ``Precisions``, ``Recalls`` and ``Thresholds`` (lists of
            per-query tensors, ascending thresholds, as recognite returns them).

    Returns:
        recognite's keys ``AP``, ``mAP`` (queries without positives count as 0), ``P@maxF1``,
        ``R@maxF1``, ``T@maxF1``, ``maxF1`` (per-query tensors except ``mAP``), plus
        ``mAP_with_positives`` (queries without positives skipped, the re-identification
        convention; NaN when none has a positive) and ``AP_per_label`` (label → mean AP of its queries).
    """
    stats, q_ids, _, names = _stats(scores, gallery_labels, query_labels, 1, chunk, return_curves)
    out = _pr_summary(stats, q_ids, names)
    if return_curves:
        out["Precisions"], out["Recalls"], out["Thresholds"] = stats["curves"]
    return out


def _pr_summary(stats: dict[str, Any], q_ids: torch.Tensor, names: list[Any]) -> dict[str, Any]:
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


def hard_pos_neg_scores(
    scores: torch.Tensor, gallery_labels: Labels, query_labels: Labels, chunk: int = DEFAULT_CHUNK
) -> dict[str, torch.Tensor]:
    """Each query's score with its hardest positive and its hardest negative.

    The hardest positive is the lowest-scoring gallery item with the query's label, the hardest
    negative the highest-scoring one with another label. Unlike recognite, both tensors have one
    entry per query, NaN where the query has no positive (or no negative).

    Args:
        scores: Scores, queries (rows) × gallery items (columns).
        gallery_labels: Label of each gallery item.
        query_labels: Label of each query.
        chunk: Rows processed at a time.

    Returns:
        ``{"HardPosScores": ..., "HardNegScores": ...}``, each of length ``Nq``.
    """
    stats, *_ = _stats(scores, gallery_labels, query_labels, 1, chunk)
    return {"HardPosScores": stats["hard_pos"], "HardNegScores": stats["hard_neg"]}


def knn(scores: torch.Tensor, gallery_labels: Labels, k: int, chunk: int = DEFAULT_CHUNK) -> list[Any]:
    """k-nearest-neighbour classification: the majority label among each query's k best gallery items.

    Neighbours tied in score are ranked by gallery index; labels tied in votes go to the one
    holding the nearest neighbour (recognite's ``torch.mode`` picks the smallest label instead).

    Args:
        scores: Scores, queries (rows) × gallery items (columns).
        gallery_labels: Label of each gallery item.
        k: Neighbours that vote (all of the gallery when larger).
        chunk: Rows processed at a time.

    Returns:
        The predicted label of each query, as the gallery spells it.
    """
    (g_ids,), names = encode_labels(gallery_labels)
    no_label = torch.full((scores.shape[0],), -1, dtype=torch.int64)  # the query labels play no part
    stats, _, _, ids = _stats(scores, g_ids, no_label, k, chunk)
    return [names[ids[i]] for i in stats["knn_pred"].tolist()]


def pml_metrics(
    scores: torch.Tensor, gallery_labels: Labels, query_labels: Labels, chunk: int = DEFAULT_CHUNK
) -> dict[str, float]:
    """precision@1, R-precision and MAP@R as pytorch-metric-learning's AccuracyCalculator defines them.

    R is the number of gallery items with the query's label. Queries whose label is not in the
    gallery ("lone" queries) are left out; with no query left, each metric is 0 (as in that library).
    Neighbours tied in score are ranked by gallery index.

    Args:
        scores: Scores, queries (rows) × gallery items (columns).
        gallery_labels: Label of each gallery item.
        query_labels: Label of each query.
        chunk: Rows processed at a time.

    Returns:
        ``{"precision_at_1", "r_precision", "map_at_r"}``.
    """
    stats, *_ = _stats(scores, gallery_labels, query_labels, 1, chunk)
    return _pml_summary(stats)


def _pml_summary(stats: dict[str, Any]) -> dict[str, float]:
    keep = stats["npos"] > 0
    if not bool(keep.any()):
        return {"precision_at_1": 0.0, "r_precision": 0.0, "map_at_r": 0.0}
    return {
        "precision_at_1": float((stats["first_hit"][keep] == 0).double().mean()),
        "r_precision": float(stats["r_precision"][keep].mean()),
        "map_at_r": float(stats["map_at_r"][keep].mean()),
    }


# --------------------------------------------------------------------------- references and thresholds


def average_references(
    embeddings: torch.Tensor, labels: Labels, normalize: bool = True
) -> tuple[torch.Tensor, list[Any]]:
    """Average the gallery embeddings of each label into one reference (recognite's ``avg_ref_embs``).

    Args:
        embeddings: One embedding per row.
        labels: Label of each row.
        normalize: Re-normalise each average to unit length (recognite does not; the mean of unit
            vectors is shorter than 1, which matters for the ``inner`` and distance metrics).

    Returns:
        The averaged embeddings, one row per label in sorted label order (as recognite), and those labels.
    """
    (ids,), names = encode_labels(labels)
    if len(ids) != embeddings.shape[0]:
        raise BridgeValidationError("there must be one label per embedding", "labels")
    ids = ids.to(embeddings.device)
    emb = embeddings if embeddings.is_floating_point() else embeddings.float()
    sums = torch.zeros(len(names), emb.shape[1], dtype=emb.dtype, device=emb.device).index_add_(0, ids, emb)
    means = sums / torch.bincount(ids, minlength=len(names)).to(emb.dtype)[:, None]
    if normalize:
        means = F.normalize(means, dim=1)
    return means, names


def suggest_thresholds(
    positive_scores: torch.Tensor, negative_scores: torch.Tensor, far_targets: Sequence[float] = DEFAULT_FAR_TARGETS
) -> dict[str, Any]:
    """Open-set acceptance thresholds (accept a match when its score is at least the threshold).

    ``evaluate`` passes each query's best positive and best negative score: a query of a known
    identity is accepted correctly when its best positive clears the threshold, and a query of an
    unknown identity (which only sees negatives) is falsely accepted when its best negative does.
    Any other pair of distributions (all positive and negative pairs, say) works the same way.

    Args:
        positive_scores: Scores that should be accepted (NaN entries are ignored).
        negative_scores: Scores that should be rejected (NaN entries are ignored).
        far_targets: False-accept rates to meet.

    Returns:
        ``max_f1``: the threshold with the highest F1 of accepting positives over negatives (the
        highest such threshold on ties), with its precision, recall and F1; ``far``: per target, the
        lowest threshold whose false-accept rate is at most the target, with the false- and
        true-accept rates there. The rate's resolution is 1 / the number of negatives. Thresholds are
        ``None`` when there is nothing to threshold.
    """
    pos = positive_scores.detach().double().flatten().cpu()
    neg = negative_scores.detach().double().flatten().cpu()
    pos, neg = pos[~pos.isnan()], neg[~neg.isnan()]
    out: dict[str, Any] = {"positives": len(pos), "negatives": len(neg), "max_f1": None, "far": []}

    if len(pos):
        values = torch.cat([pos, neg])
        is_pos = torch.cat([torch.ones(len(pos), dtype=torch.bool), torch.zeros(len(neg), dtype=torch.bool)])
        values, order = torch.sort(values, descending=True, stable=True)
        tp = is_pos[order].cumsum(0).double()
        accepted = torch.arange(1, len(values) + 1, dtype=torch.float64)
        distinct = torch.ones(len(values), dtype=torch.bool)
        distinct[:-1] = values[:-1] != values[1:]
        precision, recall = tp / accepted, tp / len(pos)
        f1 = torch.where(distinct, (2 * precision * recall / (precision + recall)).nan_to_num(0.0), -1.0)
        i = int(f1.argmax())
        out["max_f1"] = {
            "threshold": float(values[i]),
            "f1": float(f1[i]),
            "precision": float(precision[i]),
            "recall": float(recall[i]),
        }

    neg_desc = torch.sort(neg, descending=True).values
    for target in far_targets:
        allowed = math.floor(target * len(neg) + 1e-9)
        if len(neg) == 0 or allowed >= len(neg):
            everything = torch.cat([pos, neg])  # every negative may pass: accept everything
            threshold = float(everything.min()) if len(everything) else None
        else:
            # just above the (allowed + 1)-th highest negative, so at most `allowed` negatives pass
            threshold = float(torch.nextafter(neg_desc[allowed], torch.tensor(math.inf, dtype=torch.float64)))
        entry: dict[str, Any] = {"target": target, "threshold": threshold, "far": None, "tar": None}
        if threshold is not None:
            entry["far"] = float((neg >= threshold).double().mean()) if len(neg) else 0.0
            entry["tar"] = float((pos >= threshold).double().mean()) if len(pos) else None
        out["far"].append(entry)
    return out


# --------------------------------------------------------------------------- everything at once


def evaluate(
    query_emb: torch.Tensor,
    query_labels: Labels,
    gallery_emb: torch.Tensor,
    gallery_labels: Labels,
    metric: str = "cosine",
    k: int = 5,
    chunk: int = DEFAULT_CHUNK,
    average_refs: bool = False,
    normalize_refs: bool = True,
    far_targets: Sequence[float] = DEFAULT_FAR_TARGETS,
    return_top_k: bool = False,
    return_per_query: bool = False,
) -> dict[str, Any]:
    """Every metric of this module for one query set against one gallery.

    The score matrix is computed ``chunk`` query rows at a time, so memory grows with
    ``chunk × gallery size`` (about 50 bytes each: 1 GB for 1024 rows of a 20,000-item gallery),
    not ``queries × gallery``. The open-set ``thresholds`` come from each query's best positive and
    best negative score (``suggest_thresholds``).

    Args:
        query_emb: Query embeddings, one per row.
        query_labels: Label of each query (ints or strings).
        gallery_emb: Gallery embeddings, one per row.
        gallery_labels: Label of each gallery item.
        metric: ``"cosine"``, ``"inner"``, ``"euclid"`` or ``"sq_euclid"`` (see ``score_chunks``).
        k: Rank for top-k accuracy and kNN, and length of the CMC curve.
        chunk: Query rows per block of the score matrix.
        average_refs: Average the gallery per label first (``average_references``).
        normalize_refs: Re-normalise those averages.
        far_targets: False-accept rates for the open-set threshold suggestions.
        return_top_k: Add ``top_k_indices`` (gallery rows) and ``top_k_scores`` tensors, ``Nq × min(k, Ng)``,
            in rank order (tied scores in gallery order).
        return_per_query: Add a ``per_query`` dict of tensors (AP, 0-based rank of the first correct
            match or -1 without positives, max-F1 point, hardest scores; NaN where undefined) and the kNN
            label of each query (a list).

    Returns:
        A dict of plain numbers, lists and dicts (NaN and infinities become ``None``), plus the
        tensors asked for.
    """
    if k < 1:
        raise BridgeValidationError(f"k must be at least 1, got {k}", "k")
    if query_emb.shape[0] == 0 or gallery_emb.shape[0] == 0:
        raise BridgeValidationError("query and gallery sets must not be empty", "embeddings")
    (q_ids, g_ids), names = encode_labels(query_labels, gallery_labels)
    if len(q_ids) != query_emb.shape[0] or len(g_ids) != gallery_emb.shape[0]:
        raise BridgeValidationError("there must be one label per embedding", "labels")
    if average_refs:
        gallery_emb, ref_names = average_references(gallery_emb, [names[i] for i in g_ids.tolist()], normalize_refs)
        index = {name: i for i, name in enumerate(names)}
        g_ids = torch.tensor([index[name] for name in ref_names], dtype=torch.int64)

    parts = [
        _chunk_stats(scores, q_ids[start : start + scores.shape[0]], g_ids, k)
        for start, scores in score_chunks(query_emb, gallery_emb, metric, chunk)
    ]
    stats = _concat(parts)
    first_hit = stats["first_hit"]
    pr = _pr_summary(stats, q_ids, names)
    knn_correct = stats["knn_pred"] == q_ids
    has_pos = stats["npos"] > 0

    result: dict[str, Any] = {
        "metric": metric,
        "k": k,
        "num_queries": len(q_ids),
        "num_gallery": len(g_ids),
        "queries_without_positives": int((~has_pos).sum()),
        "accuracy": float((first_hit == 0).double().mean()),
        "top_k_accuracy": float((first_hit < k).double().mean()),
        "cmc": _cmc_from_first_hit(first_hit, k).tolist(),
        "knn_accuracy": float(knn_correct.double().mean()),
        "mAP": pr["mAP"],
        "mAP_with_positives": pr["mAP_with_positives"],
        "AP_per_label": [{"label": label, "ap": ap} for label, ap in pr["AP_per_label"].items()],
        "mean_P@maxF1": float(stats["p_at_max_f1"].mean()),
        "mean_R@maxF1": float(stats["r_at_max_f1"].mean()),
        "mean_T@maxF1": float(stats["t_at_max_f1"].double().mean()),
        "mean_maxF1": float(stats["max_f1"].mean()),
        **_pml_summary(stats),
        "mean_hard_pos_score": float(stats["hard_pos"].double().nanmean()),
        "mean_hard_neg_score": float(stats["hard_neg"].double().nanmean()),
        "thresholds": suggest_thresholds(stats["best_pos"], stats["best_neg"], far_targets),
    }
    result = _jsonable(result)
    if return_top_k:
        result["top_k_indices"] = stats["top_idx"]
        result["top_k_scores"] = stats["top_scores"]
    if return_per_query:
        result["per_query"] = {
            "ap": stats["ap"],
            "first_hit_rank": torch.where(first_hit == _NO_HIT, -1, first_hit),
            "knn_prediction": [names[i] for i in stats["knn_pred"].tolist()],
            "p_at_max_f1": stats["p_at_max_f1"],
            "r_at_max_f1": stats["r_at_max_f1"],
            "t_at_max_f1": stats["t_at_max_f1"],
            "max_f1": stats["max_f1"],
            "hard_pos_score": stats["hard_pos"],
            "hard_neg_score": stats["hard_neg"],
        }
    return result


def _jsonable(value: Any) -> Any:  # noqa: ANN401 - any JSON-shaped value
    """Replace NaN and infinities by ``None`` (JSON has neither) throughout a nested value."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    return value
