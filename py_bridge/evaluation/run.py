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
from evaluation.rerank import check_rerank
from evaluation.scoring import DEFAULT_CHUNK
from model.embedding import embed_frame
from model.recognizer import Recognizer

# Working memory of one query row in report.evaluate: scores, sort order and masks over the gallery.
BYTES_PER_SCORE = 56
CHUNK_BUDGET = 256 * 1024 * 1024
GPU_MAX_CHUNK = 8192


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


def check_sizes(sides: dict[str, dict[str, Any]], options: dict[str, Any]) -> None:
    """Refuse a re-ranking that cannot run before anything is embedded: the labels or CSV rows give the sizes."""
    if options["rerank"] is None:
        return
    labels = {name: side["labels"] if "embeddings" in side else side["frame"]["label"] for name, side in sides.items()}
    num_gallery = len(set(labels["gallery"])) if options["averageReferences"] else len(labels["gallery"])
    check_rerank(len(labels["query"]), num_gallery, options["metric"])


def embed_options(options: dict[str, Any]) -> dict[str, Any]:
    """The part of the evaluation options that embedding a data set needs."""
    return {key: options[key] for key in ("size", "batchSize", "numWorkers", "tta", "precision")}


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
    for name in ("gallery", "query"):
        check_finite(emb[name][0], name, "embeddings" in sides[name])
    ctx.report({"type": "progress", "phase": "scoring", "done": 0, "total": len(emb["query"][1])})
    at = scoring_device(emb["gallery"][0], emb["query"][0], [sides[n] for n in ("gallery", "query")])
    chunk = options["chunkSize"]  # null: sized to the memory budget (behaviour, not a default)
    rerank, expansion = options["rerank"], options["queryExpansion"]  # null: off
    raw = evaluate(
        emb["query"][0].to(at),
        emb["query"][1],
        emb["gallery"][0].to(at),
        emb["gallery"][1],
        metric=options["metric"],
        k=int(options["k"]),
        chunk=int(chunk) if chunk is not None else auto_chunk(len(emb["gallery"][1]), at),
        average_refs=bool(options["averageReferences"]),
        normalize_refs=bool(model.normalize),
        return_top_k=bool(options["topMatches"]),
        return_per_query=bool(options["perQuery"]),
        return_scores=bool(options["returnScores"]),
        return_curves=bool(options["curves"]),
        rerank=None if rerank is None else (int(rerank["k1"]), int(rerank["k2"]), float(rerank["lambda"])),
        expansion_k=None if expansion is None else int(expansion["k"]),
        query_images=image_paths(sides["query"]),
        gallery_images=image_paths(sides["gallery"]),
    )
    report = to_report(raw)
    if options["returnEmbeddings"]:
        report["embeddings"] = {"gallery": emb["gallery"][0], "query": emb["query"][0]}
    return report


def image_paths(side: dict[str, Any]) -> list[str] | None:
    """The absolute image path of each row of a data-set side (for the report's retrieval grid), None for embeddings."""
    return side["frame"]["image"].tolist() if "frame" in side else None


def check_finite(embeddings: torch.Tensor, name: str, given: bool) -> None:
    """Refuse NaN or infinite embeddings: every score against them would be garbage, silently."""
    bad = ~torch.isfinite(embeddings).all(dim=1)
    if bool(bad.any()):
        rows = bad.nonzero().flatten()
        source = "were given" if given else "came out of the model (diverged weights? try precision 'fp32')"
        raise BridgeValidationError(
            f"{int(rows.numel())} {name} embeddings (rows {rows[:5].tolist()}{'…' if rows.numel() > 5 else ''}) hold "
            f"NaN or infinite values and {source}: fix or drop those rows",
            path=f"{name}.embeddings",
        )


def scoring_device(gallery: torch.Tensor, query: torch.Tensor, sides: list[dict[str, Any]]) -> torch.device:
    """Where to score: where the embeddings were made.

    On the GPU when every embedded side is there (precomputed sides, from shared memory, join them);
    otherwise, and when both sides were precomputed, on the CPU as before.
    """
    made = [emb for emb, side in zip((gallery, query), sides, strict=True) if "frame" in side]
    if made and all(e.device.type == "cuda" for e in made):
        return made[0].device
    return torch.device("cpu")


def auto_chunk(num_gallery: int, device: torch.device | None = None) -> int:
    """Query rows per block so one block's working memory stays near 256 MiB, whatever the gallery size.

    On a GPU the budget is half its free memory (the blocks are the only big allocations there), and
    blocks up to GPU_MAX_CHUNK rows: bigger blocks mean fewer, fuller kernel launches.
    """
    budget, most = CHUNK_BUDGET, DEFAULT_CHUNK
    if device is not None and device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        budget, most = max(CHUNK_BUDGET, free // 2), GPU_MAX_CHUNK
    return max(1, min(most, budget // (BYTES_PER_SCORE * max(num_gallery, 1))))
