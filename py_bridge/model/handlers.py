"""Handlers of ``recognizer.*`` calls on live models: create, mode, forward, classifier, save, load, embed, dispose."""

from __future__ import annotations

from typing import Any

from bridge import jobs
from bridge.state import STATE
from model import checkpoints, store
from model.recognizer import Recognizer


def describe_model(model_id: int, model: Recognizer) -> dict[str, Any]:
    """What TypeScript knows of a model: id, embedding size, classes and mode."""
    return {
        "id": model_id,
        "embeddingDim": model.embedding_dim,
        "numClasses": model.classifier.out_features if model.classifier is not None else None,
        "training": model.training,
    }


def create(payload: dict[str, Any]) -> dict[str, Any]:
    """Build a Recognizer from a RecognizerConfig that TypeScript has validated and resolved."""
    model_id, model = store.create(payload["config"], STATE.device)
    return describe_model(model_id, model)


def mode(payload: dict[str, Any]) -> dict[str, Any]:
    """Switch a model to training (``training: true``) or evaluation mode."""
    model = store.get(payload["id"])
    model.train(bool(payload["training"]))
    return describe_model(payload["id"], model)


def forward(payload: dict[str, Any]) -> dict[str, Any]:
    """Logits (training mode with a classifier) or embeddings; ``eval: true`` forces evaluation mode for the call."""
    model = store.get(payload["id"])
    x = STATE.shm.read_json(payload["input"])
    out = store.run(model, x, eval_mode=bool(payload["eval"]))
    return {"output": STATE.shm.write(out).to_json()}


def classifier(payload: dict[str, Any]) -> dict[str, Any]:
    """Copies of the classifier's weight (one row per class) and bias, or nulls without a classifier."""
    clf = store.get(payload["id"]).classifier
    if clf is None:
        return {"weight": None, "bias": None}
    bias = STATE.shm.write(clf.bias).to_json() if clf.bias is not None else None
    return {"weight": STATE.shm.write(clf.weight).to_json(), "bias": bias}


def save(payload: dict[str, Any]) -> dict[str, Any]:
    """Save the state dict (recognite's keys) atomically."""
    store.save(store.get(payload["id"]), payload["path"])
    return {}


def load(payload: dict[str, Any]) -> dict[str, Any]:
    """Load a state dict, refusing (with the keys named) one that does not fit."""
    store.load(store.get(payload["id"]), payload["path"])
    return {}


def inspect(payload: dict[str, Any]) -> dict[str, Any]:
    """What a checkpoint file holds: the model config of a fit() checkpoint, its epoch, classes and history."""
    return checkpoints.describe(payload["path"], "checkpoint")


def dispose(payload: dict[str, Any]) -> dict[str, Any]:
    """Forget a model and free its memory."""
    store.dispose(payload["id"])
    return {}


def embed_files(payload: dict[str, Any]) -> dict[str, Any]:
    """Start embedding image files as a job.

    ``payload``: ``{id, paths | null, dataset | null, options: {size, batchSize, numWorkers, tta}}``.
    """
    from model import embedding

    model = store.get(payload["id"])
    device = STATE.device
    return {"job": jobs.start("embed", lambda ctx: embedding.embed(model, device, payload, ctx)).id}
