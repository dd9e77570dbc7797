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

from bridge_errors import BridgeValidationError
from data import DatasetSpec, ImageDataset, default_num_workers, eval_transform, make_loader, read_csv
from jobs import JobContext
from recognizer import Recognizer


def _frame(payload: dict[str, Any]) -> pd.DataFrame:
    """The rows to embed: a list of paths, or a data set CSV."""
    if payload.get("dataset") is not None:
        return read_csv(DatasetSpec.from_json(payload["dataset"]), "dataset")
    paths = [str(p) for p in payload["paths"]]
    if not paths:
        raise BridgeValidationError("no image paths to embed", path="paths")
    missing = [f"[{i}] {p}" for i, p in enumerate(paths) if not os.path.isfile(p)]
    if missing:
        shown = "; ".join(missing[:10]) + (f"; … {len(missing) - 10} more" if len(missing) > 10 else "")
        raise BridgeValidationError(f"image files not found: {shown}", path="paths")
    return pd.DataFrame({"image": paths, "label": [0] * len(paths), "row": range(len(paths))})


def embed(model: Recognizer, device: torch.device, payload: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    """Embed every image of the payload's paths or data set, reporting progress per batch."""
    frame = _frame(payload)
    dataset = ImageDataset(frame, eval_transform(int(payload["size"])))
    workers = payload.get("numWorkers")
    loader = make_loader(
        dataset,
        int(payload.get("batchSize", 64)),
        shuffle=False,
        num_workers=default_num_workers() if workers is None else int(workers),
    )
    was_training = model.training
    model.eval()
    chunks = []
    try:
        with torch.no_grad():
            for x, _ in loader:
                ctx.check_cancelled()
                chunks.append(model(x.to(device)).cpu())
                done = sum(len(c) for c in chunks)
                ctx.report({"type": "progress", "done": done, "total": len(dataset)})
    finally:
        model.train(was_training)
    return {"embeddings": torch.cat(chunks)}
