"""Metrics on a score matrix with recognite's names and arguments (``recognite.eval``), in bounded memory.

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

"""

from __future__ import annotations

from typing import Any

import torch

from evaluation.per_query import cmc_from_first_hit, pml_summary, pr_summary, stats_of_scores
from evaluation.scoring import DEFAULT_CHUNK, Labels, encode_labels


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
    stats, *_ = stats_of_scores(scores, gallery_labels, query_labels, k, chunk)
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
    stats, *_ = stats_of_scores(scores, gallery_labels, query_labels, 1, chunk)
    return cmc_from_first_hit(stats["first_hit"], k)


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
    stats, q_ids, _, names = stats_of_scores(scores, gallery_labels, query_labels, 1, chunk, return_curves)
    out = pr_summary(stats, q_ids, names)
    if return_curves:
        out["Precisions"], out["Recalls"], out["Thresholds"] = stats["curves"]
    return out


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
    stats, *_ = stats_of_scores(scores, gallery_labels, query_labels, 1, chunk)
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
    stats, _, _, ids = stats_of_scores(scores, g_ids, no_label, k, chunk)
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
    stats, *_ = stats_of_scores(scores, gallery_labels, query_labels, 1, chunk)
    return pml_summary(stats)
