"""``model.evaluate``: embed a gallery and a query set (or take precomputed embeddings) and score them.

The metrics themselves are metrics.py; this module gathers the inputs as a job with
progress (embedding data sets in batches, phase by phase), runs ``metrics.evaluate`` and
renames its numbers into the TypeScript ``EvaluationReport`` (camelCase).
"""

from __future__ import annotations

from typing import Any

import torch

import metrics
from bridge_errors import BridgeValidationError
from data import DatasetSpec, read_csv
from embed_files import embed_frame
from jobs import JobContext
from recognizer import Recognizer


def prepare_side(side: dict[str, Any], read_tensor: Any, name: str) -> dict[str, Any]:  # noqa: ANN401
    """Check one side of the payload on the dispatch thread; precomputed embeddings are copied out now.

    The shared-memory region of an input tensor is only valid during the call that sent it,
    while the job runs later: so the embeddings are cloned here.
    """
    if "embeddings" in side:
        emb = read_tensor(side["embeddings"]).clone()
        labels = list(side["labels"])
        if emb.ndim != 2 or emb.shape[0] != len(labels):
            raise BridgeValidationError(
                f"{name}: embeddings of shape {tuple(emb.shape)} need one label per row, got {len(labels)} labels",
                path=f"{name}.labels",
            )
        return {"embeddings": emb.float(), "labels": labels}
    return {"frame": read_csv(DatasetSpec.from_json(side["dataset"], name), name)}


def run(
    model: Recognizer, device: torch.device, sides: dict[str, dict[str, Any]], options: dict[str, Any], ctx: JobContext
) -> dict[str, Any]:
    """Gather both sides' embeddings, compute every metric, and shape the report."""
    emb: dict[str, tuple[torch.Tensor, list[Any]]] = {}
    for name in ("gallery", "query"):
        side = sides[name]
        if "embeddings" in side:
            emb[name] = (side["embeddings"], side["labels"])
        else:
            frame = side["frame"]
            emb[name] = (embed_frame(model, device, frame, options, ctx, phase=name), frame["label"].tolist())
    ctx.check_cancelled()
    ctx.report({"type": "progress", "phase": "scoring", "done": 0, "total": len(emb["query"][1])})
    raw = metrics.evaluate(
        emb["query"][0],
        emb["query"][1],
        emb["gallery"][0],
        emb["gallery"][1],
        metric=options.get("metric", "cosine"),
        k=int(options.get("k", 5)),
        chunk=int(options.get("chunkSize") or auto_chunk(len(emb["gallery"][1]))),
        average_refs=bool(options.get("averageReferences", False)),
        normalize_refs=bool(model.normalize),
        return_top_k=bool(options.get("topMatches", False)),
        return_per_query=bool(options.get("perQuery", False)),
    )
    report = to_report(raw)
    if options.get("returnScores") or options.get("curves"):
        # the whole Nq × Ng matrix, on request only (it is what chunking avoids otherwise)
        scores = metrics.score_matrix(emb["query"][0], emb["gallery"][0], options.get("metric", "cosine"))
        if options.get("returnScores"):
            report["scores"] = scores
        if options.get("curves"):
            pr = metrics.pr_metrics(scores, emb["gallery"][1], emb["query"][1], return_curves=True)
            report["curves"] = [
                {"precision": p.tolist(), "recall": r.tolist(), "thresholds": t.tolist()}
                for p, r, t in zip(pr["Precisions"], pr["Recalls"], pr["Thresholds"], strict=True)
            ]
    if options.get("returnEmbeddings"):
        report["embeddings"] = {"gallery": emb["gallery"][0], "query": emb["query"][0]}
    return report


# Working memory of one query row in metrics.evaluate: scores, sort order and masks over the gallery.
BYTES_PER_SCORE = 56
CHUNK_BUDGET = 256 * 1024 * 1024


def auto_chunk(num_gallery: int) -> int:
    """Query rows per block so one block's working memory stays near 256 MiB, whatever the gallery size."""
    return max(1, min(metrics.DEFAULT_CHUNK, CHUNK_BUDGET // (BYTES_PER_SCORE * max(num_gallery, 1))))


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
    }
    if "top_k_indices" in raw:
        report["topMatches"] = {"indices": raw["top_k_indices"], "scores": raw["top_k_scores"]}
    if "per_query" in raw:
        pq = raw["per_query"]
        report["perQuery"] = {
            "ap": pq["ap"].float(),
            "firstHitRank": pq["first_hit_rank"],
            "knnPrediction": pq["knn_prediction"],
            "maxF1": pq["max_f1"].float(),
            "hardPositiveScore": pq["hard_pos_score"].float(),
            "hardNegativeScore": pq["hard_neg_score"].float(),
        }
    return report
