"""Embedding image files in batches, as a job: what ``model.embed(paths)`` runs.

The images are decoded and transformed in the worker (evaluation transform: resize and
centre crop), fed through the model in evaluation mode (under autocast with a reduced ``precision``), and the
N × D float32 embeddings go back through shared memory as one tensor. Missing files are reported up front, by position.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

import pandas as pd
import torch

from bridge.errors import BridgeValidationError
from bridge.jobs import JobContext
from data.dataset import DatasetSpec, ImageDataset, make_loader, not_a_file, read_csv
from data.transforms import eval_transform, three_crop_transform
from model.layout import channels_last, to_device, wants_channels_last
from model.precision import autocast, check_precision
from model.recognizer import Recognizer

TTA_MODES = ("none", "flip", "threeCrop", "threeCropFlip")


def _frame(payload: dict[str, Any]) -> pd.DataFrame:
    """The rows to embed: a list of paths, or a data set CSV (exactly one of the two is not null)."""
    if payload["dataset"] is not None:
        return read_csv(DatasetSpec.from_json(payload["dataset"]), "dataset")
    paths = [str(p) for p in payload["paths"]]
    if not paths:
        raise BridgeValidationError("no image paths to embed", path="paths")
    missing = [f"[{i}] {p} ({not_a_file(p)})" for i, p in enumerate(paths) if not os.path.isfile(p)]
    if missing:
        shown = "; ".join(missing[:10]) + (f"; … {len(missing) - 10} more" if len(missing) > 10 else "")
        raise BridgeValidationError(f"image paths that cannot be read: {shown}", path="paths")
    where = [f"paths[{i}]" for i in range(len(paths))]
    return pd.DataFrame({"image": paths, "label": [0] * len(paths), "row": range(len(paths)), "where": where})


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


def output_buffer(rows: int, dim: int, device: torch.device) -> torch.Tensor:
    """Where a set's embeddings are gathered.

    On the GPU while a quarter of its free memory holds them, else in pinned host memory (batches
    then copy back asynchronously); on the CPU, plain memory.
    """
    if device.type != "cuda":
        return torch.empty(rows, dim)
    free, _ = torch.cuda.mem_get_info(device)
    if rows * dim * 4 <= free // 4:
        return torch.empty(rows, dim, device=device)
    return torch.empty(rows, dim, pin_memory=True)


def embed_frame(
    model: Recognizer,
    device: torch.device,
    frame: pd.DataFrame,
    options: dict[str, Any],
    ctx: JobContext,
    phase: str | None = None,
    progress: bool = True,
) -> torch.Tensor:
    """Evaluation-mode float32 embeddings of every row of a checked frame, in batches, with progress events.

    ``options`` carries ``size``, ``batchSize``, ``numWorkers``, ``tta`` and ``precision``; ``phase``
    names the step in the progress events when a job embeds several sets; ``progress=False`` sends
    none (the job still stops between batches when cancelled). The model's mode is restored.
    Batches stay on the device: the result is one tensor there (see ``output_buffer``), copied to
    the host once, by whoever sends it on, instead of once per batch.
    """
    tta, precision = options["tta"], options["precision"]
    if tta not in TTA_MODES:
        raise BridgeValidationError(f"unknown tta {tta!r}; expected one of {', '.join(TTA_MODES)}", path="tta")
    check_precision(precision, device)
    size = int(options["size"])
    dataset = ImageDataset(frame, three_crop_transform(size) if tta.startswith("threeCrop") else eval_transform(size))
    loader = make_loader(dataset, int(options["batchSize"]), int(options["numWorkers"]), device)
    return embed_batches(model, device, (x for x, _ in loader), len(dataset), tta, precision, ctx, phase, progress)


def embed_batches(
    model: Recognizer,
    device: torch.device,
    batches: Iterable[torch.Tensor],
    total: int,
    tta: str,
    precision: str,
    ctx: JobContext,
    phase: str | None = None,
    progress: bool = True,
) -> torch.Tensor:
    """The loop of ``embed_frame`` over any host batches (bench/gpu/run.py feeds it in-memory ones).

    ``total`` is the number of rows the batches hold. Returns ``total × D`` float32 embeddings.
    """
    was_training = model.training
    model.eval()
    out: torch.Tensor | None = None
    done = 0
    try:
        with (
            torch.no_grad(),
            channels_last(model, wants_channels_last(model.model_name, device)) as nhwc,
            autocast(device, precision),
        ):
            for x in batches:
                ctx.check_cancelled()
                emb = embed_batch(model, to_device(x, device, nhwc), tta)
                if out is None:
                    out = output_buffer(total, emb.shape[1], device)
                out[done : done + len(emb)].copy_(emb, non_blocking=True)
                done += len(emb)
                if progress:
                    event = {"type": "progress", "done": done, "total": total}
                    ctx.report({**event, "phase": phase} if phase else event)
    finally:
        model.train(was_training)
    if out is None:
        return torch.empty(0, model.embedding_dim)
    if out.is_pinned():
        torch.cuda.synchronize(device)  # the asynchronous copies must land before the host reads them
    return out


def embed(model: Recognizer, device: torch.device, payload: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    """Embed every image of the payload's paths or data set, reporting progress per batch.

    ``payload`` is ``{paths, dataset, options: {size, batchSize, numWorkers, tta, precision}}``, resolved.
    A data set's labels come back with its embeddings, one per row (null for a list of paths).
    """
    frame = _frame(payload)
    labels = frame["label"].tolist() if payload["dataset"] is not None else None
    return {"embeddings": embed_frame(model, device, frame, payload["options"], ctx), "labels": labels}
