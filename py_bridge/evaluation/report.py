"""Every metric at once for one query set against one gallery, and its shape as the TypeScript report."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import Any

import torch

from bridge.errors import BridgeValidationError
from bridge.memory import release_free_heap
from evaluation.pairs import PairHistogram
from evaluation.per_query import NO_HIT, BlockStats, chunk_stats, cmc_from_first_hit, pml_summary, pr_summary
from evaluation.rerank import expand_queries, reranked_scores
from evaluation.retrieval import pr_curve, retrieval
from evaluation.scoring import DEFAULT_CHUNK, Labels, average_references, encode_labels, score_chunks
from evaluation.thresholds import DEFAULT_FAR_TARGETS, suggest_thresholds


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
    return_scores: bool = False,
    return_curves: bool = False,
    rerank: tuple[int, int, float] | None = None,
    expansion_k: int | None = None,
    query_images: list[str] | None = None,
    gallery_images: list[str] | None = None,
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
            match or -1 without positives, max-F1 point, hardest scores, INP; NaN where undefined) and the kNN
            label of each query (a list).
        return_scores: Add ``scores``, the whole ``Nq × Ng`` score matrix (``Ng`` references with
            ``average_refs``), assembled from the very blocks the metrics were computed from.
        return_curves: Add ``curves``: each query's precision-recall curve (``precision``, ``recall``,
            ``thresholds`` lists, recognite's layout), from the same blocks.
        rerank: ``(k1, k2, lambda)`` of k-reciprocal re-ranking (rerank.py), or ``None``: every metric,
            score and threshold is then of the re-ranked scores (minus the re-ranked distances).
            Dense: Nq + Ng (references with ``average_refs``) at most ``MAX_RERANK_ITEMS``.
        expansion_k: Average query expansion with this many gallery neighbours (``expand_queries``,
            renormalised like the references), before scoring and re-ranking; ``None``: none.
        query_images: The image path of each query (a data set), or ``None`` (embeddings): for ``retrieval``.
        gallery_images: The same for the gallery (ignored with ``average_refs``: a reference is no one image).

    What the HTML report draws is always there and small: ``pair_histogram`` (positive-pair and
    negative-pair scores over all query × gallery pairs, at most 50 shared bins, pairs.py),
    ``pr_curve`` (mean interpolated precision at 101 recall levels over the queries with a positive)
    and ``retrieval`` (the worst and best queries with their top 5 matches, retrieval.py).

    With ``average_refs``, ``reference_labels`` names the label of each reference: of each column of
    ``scores`` and each index of ``top_k_indices``.

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
    ref_names: list[Any] | None = None
    if average_refs:
        gallery_emb, ref_names = average_references(gallery_emb, [names[i] for i in g_ids.tolist()], normalize_refs)
        index = {name: i for i, name in enumerate(names)}
        g_ids = torch.tensor([index[name] for name in ref_names], dtype=torch.int64)

    if expansion_k is not None:
        query_emb = expand_queries(query_emb, gallery_emb, metric, expansion_k, chunk, normalize_refs)

    # scores and curves come from the same blocks as every metric: they cannot disagree with them
    blocks = BlockStats(len(q_ids))
    pairs = PairHistogram()
    score_blocks: list[torch.Tensor] = []
    for start, scores in _score_blocks(query_emb, gallery_emb, metric, chunk, rerank):
        rows = q_ids[start : start + scores.shape[0]]
        blocks.add(start, chunk_stats(scores, rows, g_ids, k, return_curves))
        pairs.add(scores, rows, g_ids)
        if return_scores:
            score_blocks.append(scores.cpu())
        del scores
        if return_curves or return_scores:
            # what these keep of every block is large and lies between the freed temporaries of the
            # next ones: hand the heap's free pages back (bridge/memory.py); the metrics alone need not
            release_free_heap()
    stats = blocks.result()
    first_hit = stats["first_hit"]
    pr = pr_summary(stats, q_ids, names)
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
        "cmc": cmc_from_first_hit(first_hit, k).tolist(),
        "knn_accuracy": float(knn_correct.double().mean()),
        "mAP": pr["mAP"],
        "mAP_with_positives": pr["mAP_with_positives"],
        "mINP": float(stats["inp"][has_pos].mean()) if bool(has_pos.any()) else math.nan,
        "AP_per_label": [{"label": label, "ap": ap} for label, ap in pr["AP_per_label"].items()],
        "mean_P@maxF1": float(stats["p_at_max_f1"].mean()),
        "mean_R@maxF1": float(stats["r_at_max_f1"].mean()),
        "mean_T@maxF1": float(stats["t_at_max_f1"].double().mean()),
        "mean_maxF1": float(stats["max_f1"].mean()),
        **pml_summary(stats),
        "mean_hard_pos_score": float(stats["hard_pos"].double().nanmean()),
        "mean_hard_neg_score": float(stats["hard_neg"].double().nanmean()),
        "thresholds": suggest_thresholds(stats["best_pos"], stats["best_neg"], far_targets),
        "rerank": None if rerank is None else dict(zip(("k1", "k2", "lambda"), rerank, strict=True)),
        "query_expansion": None if expansion_k is None else {"k": expansion_k},
        "pair_histogram": pairs.result(),
        "pr_curve": pr_curve(stats["pr_interp"], stats["npos"]),
        "retrieval": retrieval(stats, q_ids, g_ids, names, query_images, None if average_refs else gallery_images),
    }
    result = _jsonable(result)
    if ref_names is not None:
        result["reference_labels"] = list(ref_names)
    if return_scores:
        result["scores"] = torch.cat(score_blocks)
    if return_curves:
        result["curves"] = [
            {"precision": p.tolist(), "recall": r.tolist(), "thresholds": th.tolist()}
            for p, r, th in zip(*stats["curves"], strict=True)
        ]
    if return_top_k:
        result["top_k_indices"] = stats["top_idx"]
        result["top_k_scores"] = stats["top_scores"]
    if return_per_query:
        result["per_query"] = {
            "ap": stats["ap"],
            "first_hit_rank": torch.where(first_hit == NO_HIT, -1, first_hit),
            "knn_prediction": [names[i] for i in stats["knn_pred"].tolist()],
            "p_at_max_f1": stats["p_at_max_f1"],
            "r_at_max_f1": stats["r_at_max_f1"],
            "t_at_max_f1": stats["t_at_max_f1"],
            "max_f1": stats["max_f1"],
            "hard_pos_score": stats["hard_pos"],
            "hard_neg_score": stats["hard_neg"],
            "inp": stats["inp"],
        }
    return result


def _score_blocks(
    query: torch.Tensor, gallery: torch.Tensor, metric: str, chunk: int, rerank: tuple[int, int, float] | None
) -> Iterator[tuple[int, torch.Tensor]]:
    """Blocks of query rows of the score matrix: straight from the embeddings, or of the re-ranked one."""
    if rerank is None:
        yield from score_chunks(query, gallery, metric, chunk)
        return
    scores = reranked_scores(query, gallery, metric, *rerank, chunk)
    for start in range(0, scores.shape[0], chunk):
        yield start, scores[start : start + chunk]


def _jsonable(value: Any) -> Any:  # noqa: ANN401 - any JSON-shaped value
    """Replace NaN and infinities by ``None`` (JSON has neither) throughout a nested value."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    return value


def to_report(raw: dict[str, Any]) -> dict[str, Any]:
    """metrics.evaluate's result in the shape of the TypeScript EvaluationReport."""
    thresholds = raw["thresholds"]
    report: dict[str, Any] = {
        "metric": raw["metric"],
        "k": raw["k"],
        "numQueries": raw["num_queries"],
        "numGallery": raw["num_gallery"],
        "queriesWithoutPositives": raw["queries_without_positives"],
        "accuracy": raw["accuracy"],
        "topKAccuracy": raw["top_k_accuracy"],
        "cmc": raw["cmc"],
        "knnAccuracy": raw["knn_accuracy"],
        "mAP": raw["mAP"],
        "mAPWithPositives": raw["mAP_with_positives"],
        "mINP": raw["mINP"],
        "apPerLabel": raw["AP_per_label"],
        "meanMaxF1": {
            "f1": raw["mean_maxF1"],
            "precision": raw["mean_P@maxF1"],
            "recall": raw["mean_R@maxF1"],
            "threshold": raw["mean_T@maxF1"],
        },
        "precisionAt1": raw["precision_at_1"],
        "rPrecision": raw["r_precision"],
        "mapAtR": raw["map_at_r"],
        "meanHardPositiveScore": raw["mean_hard_pos_score"],
        "meanHardNegativeScore": raw["mean_hard_neg_score"],
        "thresholds": {
            "positives": thresholds["positives"],
            "negatives": thresholds["negatives"],
            "maxF1": thresholds["max_f1"],
            "falseAcceptTargets": [
                {"far": e["target"], "threshold": e["threshold"], "measuredFar": e["far"], "tar": e["tar"]}
                for e in thresholds["far"]
            ],
        },
        "rerank": raw["rerank"],
        "queryExpansion": raw["query_expansion"],
        "pairHistogram": raw["pair_histogram"],
        "prCurve": raw["pr_curve"],
        "retrieval": raw["retrieval"],
    }
    if "top_k_indices" in raw:
        report["topMatches"] = {"indices": raw["top_k_indices"], "scores": raw["top_k_scores"]}
    if "reference_labels" in raw:
        report["referenceLabels"] = raw["reference_labels"]
    if "scores" in raw:
        report["scores"] = raw["scores"]
    if "curves" in raw:
        report["curves"] = raw["curves"]
    if "per_query" in raw:
        pq = raw["per_query"]
        report["perQuery"] = {
            "ap": pq["ap"].float(),
            "firstHitRank": pq["first_hit_rank"],
            "knnPrediction": pq["knn_prediction"],
            "maxF1": pq["max_f1"].float(),
            "hardPositiveScore": pq["hard_pos_score"].float(),
            "hardNegativeScore": pq["hard_neg_score"].float(),
            "inp": pq["inp"].float(),
        }
    return report
