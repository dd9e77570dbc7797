"""``model.evaluate``: embed a gallery and a query set (or take precomputed embeddings) and score them.

The metrics are report.py's ``evaluate`` (over scoring.py and per_query.py); this module gathers
the inputs as a job with progress (embedding data sets in batches, phase by phase) and hands the
resolved options over. Every option is read as a required key: TypeScript sends them resolved.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from bridge.errors import BridgeValidationError
from bridge.jobs import JobContext
from data.dataset import DatasetSpec, read_csv
from evaluation.report import evaluate, to_report
from evaluation.scoring import DEFAULT_CHUNK
from model.embedding import embed_frame
from model.recognizer import Recognizer

# Working memory of one query row in report.evaluate: scores, sort order and masks over the gallery.
BYTES_PER_SCORE = 56
CHUNK_BUDGET = 256 * 1024 * 1024


def prepare_side(
    side: dict[str, Any], read_tensor: Callable[[dict[str, Any]], torch.Tensor], name: str
) -> dict[str, Any]:
    """Check one side of the payload on the dispatch thread; precomputed embeddings are copied out now.

    A side is ``{dataset: DatasetRef}`` or ``{embeddings: <descriptor>, labels: [...]}``. The
    shared-memory region of an input tensor is only valid during the call that sent it, while the
    job runs later: so the embeddings are cloned here.
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
    return {"frame": read_csv(DatasetSpec.from_json(side["dataset"], f"{name}.dataset"), name)}


def embed_options(options: dict[str, Any]) -> dict[str, Any]:
    """The part of the evaluation options that embedding a data set needs."""
    return {key: options[key] for key in ("size", "batchSize", "numWorkers", "tta")}


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
            emb[name] = (
                embed_frame(model, device, frame, embed_options(options), ctx, phase=name),
                frame["label"].tolist(),
            )
    ctx.check_cancelled()
    ctx.report({"type": "progress", "phase": "scoring", "done": 0, "total": len(emb["query"][1])})
    chunk = options["chunkSize"]  # null: sized to the memory budget (behaviour, not a default)
    raw = evaluate(
        emb["query"][0],
        emb["query"][1],
        emb["gallery"][0],
        emb["gallery"][1],
        metric=options["metric"],
        k=int(options["k"]),
        chunk=int(chunk) if chunk is not None else auto_chunk(len(emb["gallery"][1])),
        average_refs=bool(options["averageReferences"]),
        normalize_refs=bool(model.normalize),
        return_top_k=bool(options["topMatches"]),
        return_per_query=bool(options["perQuery"]),
        return_scores=bool(options["returnScores"]),
        return_curves=bool(options["curves"]),
    )
    report = to_report(raw)
    if options["returnEmbeddings"]:
        report["embeddings"] = {"gallery": emb["gallery"][0], "query": emb["query"][0]}
    return report


def auto_chunk(num_gallery: int) -> int:
    """Query rows per block so one block's working memory stays near 256 MiB, whatever the gallery size."""
    return max(1, min(DEFAULT_CHUNK, CHUNK_BUDGET // (BYTES_PER_SCORE * max(num_gallery, 1))))
