"""Embedding image files in batches, as a job: what ``model.embed(paths)`` runs.

The images are decoded and transformed in the worker (evaluation transform: resize and
centre crop), fed through the model in evaluation mode, and the N × D embeddings go back
through shared memory as one tensor. Missing files are reported up front, by position.
"""

from __future__ import annotations

import os
from typing import Any

import pandas as pd
import torch

from bridge.errors import BridgeValidationError
from bridge.jobs import JobContext
from data.dataset import DatasetSpec, ImageDataset, make_loader, read_csv
from data.transforms import eval_transform, three_crop_transform
from model.recognizer import Recognizer

TTA_MODES = ("none", "flip", "threeCrop", "threeCropFlip")


def _frame(payload: dict[str, Any]) -> pd.DataFrame:
    """The rows to embed: a list of paths, or a data set CSV (exactly one of the two is not null)."""
    if payload["dataset"] is not None:
        return read_csv(DatasetSpec.from_json(payload["dataset"]), "dataset")
    paths = [str(p) for p in payload["paths"]]
    if not paths:
        raise BridgeValidationError("no image paths to embed", path="paths")
    missing = [f"[{i}] {p}" for i, p in enumerate(paths) if not os.path.isfile(p)]
    if missing:
        shown = "; ".join(missing[:10]) + (f"; … {len(missing) - 10} more" if len(missing) > 10 else "")
        raise BridgeValidationError(f"image files not found: {shown}", path="paths")
    return pd.DataFrame({"image": paths, "label": [0] * len(paths), "row": range(len(paths))})


def embed_batch(model: Recognizer, x: torch.Tensor, tta: str) -> torch.Tensor:
    """Embeddings of a batch, averaged over the test-time views asked for (renormalised if the model normalises).

    ``x`` is B × C × H × W, or B × 3 × C × H × W for three-crop (recognite's ``embeddings_three_crops``).
    """
    crops = x.shape[1] if x.ndim == 5 else 1
    flat = x.flatten(0, 1) if x.ndim == 5 else x
    views = [flat, flat.flip(-1)] if tta.endswith("lip") else [flat]  # 'flip', 'threeCropFlip'
    emb = torch.stack([model(v) for v in views]).mean(0)
    emb = emb.view(x.shape[0], crops, -1).mean(1)
    if (crops > 1 or len(views) > 1) and model.normalize:
        emb = torch.nn.functional.normalize(emb, dim=1)
    return emb


def embed_frame(
    model: Recognizer,
    device: torch.device,
    frame: pd.DataFrame,
    options: dict[str, Any],
    ctx: JobContext,
    phase: str | None = None,
    progress: bool = True,
) -> torch.Tensor:
    """Evaluation-mode embeddings of every row of a checked frame, in batches, with progress events.

    ``options`` carries ``size``, ``batchSize``, ``numWorkers`` and ``tta``; ``phase`` names the
    step in the progress events when a job embeds several sets; ``progress=False`` sends none (the
    job still stops between batches when cancelled). The model's mode is restored.
    """
    tta = options["tta"]
    if tta not in TTA_MODES:
        raise BridgeValidationError(f"unknown tta {tta!r}; expected one of {', '.join(TTA_MODES)}", path="tta")
    size = int(options["size"])
    dataset = ImageDataset(frame, three_crop_transform(size) if tta.startswith("threeCrop") else eval_transform(size))
    loader = make_loader(dataset, int(options["batchSize"]), int(options["numWorkers"]))
    was_training = model.training
    model.eval()
    chunks: list[torch.Tensor] = []
    try:
        with torch.no_grad():
            for x, _ in loader:
                ctx.check_cancelled()
                chunks.append(embed_batch(model, x.to(device), tta).cpu())
                if progress:
                    event = {"type": "progress", "done": sum(len(c) for c in chunks), "total": len(dataset)}
                    ctx.report({**event, "phase": phase} if phase else event)
    finally:
        model.train(was_training)
    return torch.cat(chunks)


def embed(model: Recognizer, device: torch.device, payload: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    """Embed every image of the payload's paths or data set, reporting progress per batch.

    ``payload`` is ``{paths, dataset, options: {size, batchSize, numWorkers, tta}}``, resolved.
    A data set's labels come back with its embeddings, one per row (null for a list of paths).
    """
    frame = _frame(payload)
    labels = frame["label"].tolist() if payload["dataset"] is not None else None
    return {"embeddings": embed_frame(model, device, frame, payload["options"], ctx), "labels": labels}
