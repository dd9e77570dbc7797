"""What the HTML report shows of individual queries: the worst and the best, each with its top gallery matches.

Small on purpose (a few queries × 5 matches): it travels as JSON inside every EvaluationReport, so the
report can be drawn later without the score matrix.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from evaluation.interpolated import RECALL_LEVELS

WORST_QUERIES = 12
BEST_QUERIES = 4


def pick_queries(
    ap: torch.Tensor, npos: torch.Tensor, worst: int = WORST_QUERIES, best: int = BEST_QUERIES
) -> list[tuple[str, int]]:
    """The lowest-AP queries (``worst`` of them), then the highest-AP ones (``best``), as (kind, index).

    Only queries that have a positive compete (a query whose label has no gallery item is an unknown,
    not a failure of ranking), unless none has one. A query ranked perfectly (AP 1) is never called
    "worst": with few imperfect queries there are fewer worst ones. The best are the highest of the
    rest, so no query shows twice. Ties go to the lower query index.
    """
    candidates = torch.nonzero(npos > 0).flatten()
    if candidates.numel() == 0:
        candidates = torch.arange(len(ap))
    values = ap[candidates].double()
    ascending = candidates[torch.sort(values, stable=True).indices].tolist()
    descending = candidates[torch.sort(values, descending=True, stable=True).indices].tolist()
    imperfect = [i for i in ascending if not float(ap[i]) >= 1.0]
    picked = [("worst", i) for i in imperfect[:worst]]
    taken = set(imperfect[:worst])
    return picked + [("best", i) for i in descending if i not in taken][:best]


def retrieval(
    stats: dict[str, Any],
    q_ids: torch.Tensor,
    g_ids: torch.Tensor,
    names: list[Any],
    query_images: list[str] | None,
    gallery_images: list[str] | None,
) -> list[dict[str, Any]]:
    """The report's ``retrieval`` entries: query, label, AP, image, and its top matches (row, label, score, …).

    ``gallery_images`` is None when the gallery was given as embeddings, or averaged into references
    (a reference is no single image); ``query_images`` likewise for the queries.
    """
    out = []
    for kind, i in pick_queries(stats["ap"], stats["npos"]):
        rows = stats["grid_idx"][i].tolist()
        scores = stats["grid_scores"][i].tolist()
        matches = [
            {
                "row": row,
                "label": names[int(g_ids[row])],
                "score": _finite(score),
                "correct": bool(g_ids[row] == q_ids[i]),
                "image": None if gallery_images is None else gallery_images[row],
            }
            for row, score in zip(rows, scores, strict=True)
        ]
        out.append(
            {
                "kind": kind,
                "query": i,
                "label": names[int(q_ids[i])],
                "ap": _finite(float(stats["ap"][i])),
                "hasPositives": bool(stats["npos"][i] > 0),
                "image": None if query_images is None else query_images[i],
                "matches": matches,
            }
        )
    return out


def pr_curve(pr_interp: torch.Tensor, npos: torch.Tensor) -> dict[str, Any]:
    """The mean over queries with a positive of their interpolated precision at recall 0, 0.01, …, 1."""
    keep = npos > 0
    recall = [i / (RECALL_LEVELS - 1) for i in range(RECALL_LEVELS)]
    if not bool(keep.any()):
        return {"recall": recall, "precision": [None] * RECALL_LEVELS, "queries": 0}
    mean = pr_interp[keep].double().mean(dim=0)
    return {"recall": recall, "precision": [_finite(v) for v in mean.tolist()], "queries": int(keep.sum())}


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None
