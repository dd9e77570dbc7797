"""Training a Recognizer: recognite's objective, run as a cancellable job with progress.

The loss is softmax cross-entropy over the Recognizer's cosine logits, optionally scaled
(NormFace) and with an additive cosine margin on the target class (CosFace). recognite
trains with the unscaled cosines (``logitScale: 1``), which leaves the loss stuck near
ln(classes); a scale of 16 without a margin (and without flips) is the default here, measured on
two data sets (docs/BENCHMARKS.md, ``npm run bench:loss`` and ``bench:defaults``). Every epoch can end with an
atomic checkpoint, and a run resumed from one gives the same result as an uninterrupted
run with the same seed: data order and augmentation are drawn from ``seed + epoch`` (per row, in
whichever loader process decodes it: loader.py), dropout from this fit's own stream reseeded with
``seed + epoch`` (bridge/rng.py), so other jobs in the worker change nothing. Every option
is read as a required key: TypeScript sends them resolved.
"""

from __future__ import annotations

import os
import time
from typing import Any

import pandas as pd
import torch

from bridge.errors import BridgeValidationError
from bridge.jobs import JobContext
from bridge.rng import JobStream
from data.dataset import DatasetSpec, ImageDataset, read_csv, sorted_labels
from data.transforms import train_transform
from evaluation.report import evaluate
from model.checkpoints import is_training_checkpoint, read_mapping, save_atomic
from model.embedding import embed_frame
from model.precision import check_precision, grad_scaler
from model.recognizer import Recognizer
from model.store import load_state
from training.loader import TrainingLoader
from training.steps import StepSetup, train_epoch


def validation_metrics(
    model: Recognizer,
    device: torch.device,
    frames: tuple[pd.DataFrame, pd.DataFrame],
    embed_options: dict[str, Any],
    ctx: JobContext,
) -> dict[str, float]:
    """Top-1, top-5 and mAP of the queries against the gallery (evaluation/report.py), on embeddings made now."""
    gallery, query = frames
    report = evaluate(
        embed_frame(model, device, query, embed_options, ctx, progress=False),
        query["label"].tolist(),
        embed_frame(model, device, gallery, embed_options, ctx, progress=False),
        gallery["label"].tolist(),
        k=5,
    )
    return {"top1": report["accuracy"], "top5": report["top_k_accuracy"], "mAP": report["mAP"]}


def resume(
    model: Recognizer, optimizer: torch.optim.Optimizer, scaler: torch.amp.GradScaler | None, path: str
) -> tuple[int, list[dict[str, Any]]]:
    """Restore model, optimizer and (fp16) loss scale from a ``fit`` checkpoint; returns its epoch and history."""
    checkpoint = read_mapping(path, "resumeFrom")
    if not is_training_checkpoint(checkpoint):
        raise BridgeValidationError(
            f"{path} is not a fit() checkpoint (no model, optimizer and epoch): pass the last.pt of a checkpointDir",
            path="resumeFrom",
        )
    load_state(model, checkpoint["model"], path, "resumeFrom")
    try:
        optimizer.load_state_dict(checkpoint["optimizer"])
    except (ValueError, KeyError) as exc:
        raise BridgeValidationError(f"the optimizer state in {path} does not fit: {exc}", path="resumeFrom") from None
    if scaler is not None and "scaler" in checkpoint:  # absent when the run resumed from was not fp16
        scaler.load_state_dict(checkpoint["scaler"])
    return int(checkpoint["epoch"]), list(checkpoint["history"])


def _model_config(model: Recognizer) -> dict[str, Any]:
    """The RecognizerConfig fields a checkpoint needs to rebuild its model."""
    return {
        "modelName": model.model_name,
        "numClasses": model.classifier.out_features if model.classifier is not None else None,
        "clfBias": model.classifier is not None and model.classifier.bias is not None,
        "normalize": model.normalize,
    }


def _plain(options: dict[str, Any]) -> dict[str, Any]:
    """The fit options without nulls, nested ones too (``torch.load(weights_only=True)`` reads plain containers)."""
    return {k: _plain(v) if isinstance(v, dict) else v for k, v in options.items() if v is not None}


def training_classes(model: Recognizer, frame: Any) -> list[Any]:
    """The training set's labels in classifier order; a model whose classifier does not fit them is refused."""
    classes = sorted_labels(frame)
    if model.classifier is None or model.classifier.out_features != len(classes):
        have = "no classifier" if model.classifier is None else f"numClasses {model.classifier.out_features}"
        raise BridgeValidationError(
            f"the training set has {len(classes)} labels but the model has {have}: "
            f"create it with numClasses: {len(classes)}",
            path="train",
        )
    return classes


def save_checkpoint(
    checkpoint_dir: str,
    model: Recognizer,
    optimizer: torch.optim.Optimizer,
    scaler: Any,
    progress: tuple[int, list[dict[str, Any]], list[Any]],
    options: dict[str, Any],
) -> None:
    """``checkpoint_dir/last.pt`` (atomic): what ``resumeFrom``, ``loadStateDict`` and ``loadRecognizer`` read.

    ``progress`` is (epochs done, history, classes); ``options`` the resolved fit options.
    """
    epoch, history, classes = progress
    save_atomic(
        {
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "epoch": epoch,
            "history": history,
            "classes": classes,
            "config": {"model": _model_config(model), "fit": _plain(options)},
            **({"scaler": scaler.state_dict()} if scaler is not None else {}),
        },
        os.path.join(checkpoint_dir, "last.pt"),
    )


def fit(model: Recognizer, device: torch.device, options: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    """Train ``model`` as ``options`` (resolved FitOptions: every key present) say; report progress through ``ctx``."""
    started = time.monotonic()
    was_training = model.training
    epochs, batch_size, size = int(options["epochs"]), int(options["batchSize"]), int(options["size"])
    seed = int(options["seed"])
    scale, margin = float(options["logitScale"]), float(options["margin"])
    workers = int(options["numWorkers"])
    precision = str(options["precision"])
    check_precision(precision, device, training=True)

    frame = read_csv(DatasetSpec.from_json(options["train"], "train"), "train")
    classes = training_classes(model, frame)
    train_set = ImageDataset(frame, train_transform(size, bool(options["hflip"])), classes)
    validation = None
    if options["validation"] is not None:
        validation = (
            read_csv(
                DatasetSpec.from_json(options["validation"]["gallery"], "validation.gallery"), "validation.gallery"
            ),
            read_csv(DatasetSpec.from_json(options["validation"]["query"], "validation.query"), "validation.query"),
        )
    # validation decodes with the fit's loader processes: the device would wait on one core otherwise
    embed_options = {
        "size": size,
        "batchSize": batch_size,
        "numWorkers": workers,
        "tta": "none",
        "precision": precision,
    }

    optimizer = torch.optim.SGD(
        model.parameters(),
        lr=float(options["lr"]),
        momentum=float(options["momentum"]),
        weight_decay=float(options["weightDecay"]),
    )
    stream = JobStream(device)  # dropout draws from this fit's own stream, not the one other jobs share
    setup = StepSetup(optimizer, grad_scaler(device, precision), device, precision, scale, margin, stream)
    history: list[dict[str, Any]] = []
    first_epoch = 0
    if options["resumeFrom"] is not None:
        first_epoch, history = resume(model, optimizer, setup.scaler, options["resumeFrom"])
    checkpoint_dir = options["checkpointDir"]
    if checkpoint_dir:
        try:
            os.makedirs(checkpoint_dir, exist_ok=True)
        except OSError as exc:
            raise BridgeValidationError(
                f"cannot use {checkpoint_dir} as a folder: {exc}", path="checkpointDir"
            ) from None

    drop_last = len(train_set) > batch_size  # a last batch of one would break BatchNorm
    steps = len(train_set) // batch_size if drop_last else 1
    loader = TrainingLoader(train_set, batch_size, workers, drop_last, device)  # its processes serve every epoch
    for epoch in range(first_epoch, epochs):
        stream.reseed(seed + epoch)  # dropout; order and augmentation follow from the epoch's seed in the loader
        epoch_start = time.monotonic()
        batches = loader.epoch(seed + epoch)
        loss = train_epoch(model, batches, setup, ctx, epoch, epochs, steps)  # raises when the loss is not finite
        record: dict[str, Any] = {
            "epoch": epoch + 1,
            "loss": loss,
            "seconds": time.monotonic() - epoch_start,
        }
        if validation:
            record.update(validation_metrics(model, device, validation, embed_options, ctx))
            record["chanceTop1"] = 1.0 / validation[0]["label"].nunique()
        history.append(record)
        if checkpoint_dir:
            save_checkpoint(checkpoint_dir, model, optimizer, setup.scaler, (epoch + 1, history, classes), options)
        ctx.report({"type": "epoch", **record, "epochs": epochs})
    model.train(was_training)
    return {"history": history, "seconds": time.monotonic() - started, "classes": classes}
