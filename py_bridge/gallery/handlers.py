"""Handlers of ``gallery.*`` calls: galleries live in the worker, addressed by id like models.

Quick calls (create, describe, remove, verify, threshold, dispose) answer at once; work that
grows with the gallery (add, identify, calibrate, train, measureRecall, save, load) runs as a
job, so the worker keeps serving other calls meanwhile. Input tensors are copied on the
dispatch thread: their shared-memory regions are only valid during the call that sent them.
"""

from __future__ import annotations

import itertools
from typing import Any

import torch

from bridge import jobs
from bridge.errors import BridgeValidationError
from bridge.jobs import JobContext
from bridge.state import STATE
from gallery import persist
from gallery.fingerprint import weights_fingerprint
from gallery.gallery import Gallery
from model import store

_galleries: dict[int, Gallery] = {}
_models: dict[int, int | None] = {}  # gallery id → id of the model it was made with
_ids = itertools.count(1)


def _get(gallery_id: int) -> Gallery:
    gallery = _galleries.get(int(gallery_id))
    if gallery is None:
        raise BridgeValidationError(f"no gallery with id {gallery_id} (disposed?)", path="gallery")
    return gallery


def _model_info(model_id: int | None, fingerprint: bool = False) -> dict[str, Any] | None:
    if model_id is None:
        return None
    model = store.get(model_id)
    info: dict[str, Any] = {"modelName": model.model_name, "embeddingDim": int(model.embedding_dim)}
    if fingerprint:
        info["fingerprint"] = weights_fingerprint(model)
    return info


def _register(gallery: Gallery, model_id: int | None) -> dict[str, Any]:
    gallery_id = next(_ids)
    _galleries[gallery_id], _models[gallery_id] = gallery, model_id
    return describe_gallery(gallery_id)


def describe_gallery(gallery_id: int) -> dict[str, Any]:
    """What TypeScript knows of a gallery."""
    g = _get(gallery_id)
    return {
        "id": gallery_id,
        "size": len(g.rows),
        "labelCount": len(set(g.rows.labels)),
        "dim": g.dim,
        "metric": g.metric,
        "backend": g.config["backend"],
        "index": g.config["index"],
        "trained": g.search.is_trained,
        "threshold": g.threshold,
        "calibration": g.calibration,
        "model": g.model,
    }


def _tensor(payload: dict[str, Any], key: str) -> torch.Tensor:
    return STATE.shm.read_json(payload[key]).clone()


def _job(kind: str, gallery_id: int, work: Any) -> dict[str, Any]:
    gallery = _get(gallery_id)

    def run(ctx: JobContext) -> dict[str, Any]:
        with gallery.lock:
            ctx.check_cancelled()
            return dict(work(gallery, ctx))

    return {"job": jobs.start(kind, run).id}


def _progress(ctx: JobContext, phase: str) -> Any:
    def report(done: int, total: int) -> None:
        ctx.check_cancelled()
        ctx.report({"type": "progress", "phase": phase, "done": done, "total": total})

    return report


# ---------------------------------------------------------------------------- quick calls


def create(payload: dict[str, Any]) -> dict[str, Any]:
    """A new, empty gallery: ``{config: resolved GalleryConfig, model: id | null, dim: int | null}``."""
    model_id = payload["model"]
    info = _model_info(model_id)
    dim = info["embeddingDim"] if info is not None else payload["dim"]
    if dim is None:
        raise BridgeValidationError("a gallery needs a model or the embedding size (dim)", path="dim")
    return _register(Gallery({**payload["config"], "dim": int(dim)}, info), model_id)


def describe(payload: dict[str, Any]) -> dict[str, Any]:
    """Size, labels, metric, backend and threshold of a gallery."""
    return describe_gallery(payload["id"])


def labels(payload: dict[str, Any]) -> dict[str, Any]:
    """The distinct labels enrolled, in order of enrolment."""
    return {"labels": list(dict.fromkeys(_get(payload["id"]).rows.labels))}


def remove(payload: dict[str, Any]) -> dict[str, Any]:
    """Forget every reference of the given labels."""
    gallery = _get(payload["id"])
    with gallery.lock:
        removed = gallery.remove(list(payload["labels"]))
    return {"removed": removed, **describe_gallery(payload["id"])}


def set_threshold(payload: dict[str, Any]) -> dict[str, Any]:
    """Set (a number) or clear (null) the acceptance threshold by hand."""
    gallery = _get(payload["id"])
    gallery.threshold, gallery.calibration = payload["threshold"], None
    return describe_gallery(payload["id"])


def verify(payload: dict[str, Any]) -> dict[str, Any]:
    """Scores of pairs of embeddings (a[i], b[i])."""
    gallery = _get(payload["id"])
    return {"scores": STATE.shm.write(gallery.verify(_tensor(payload, "a"), _tensor(payload, "b"))).to_json()}


def dispose(payload: dict[str, Any]) -> dict[str, Any]:
    """Forget a gallery and free its memory."""
    _galleries.pop(int(payload["id"]), None)
    _models.pop(int(payload["id"]), None)
    return {}


# ---------------------------------------------------------------------------- jobs


def add(payload: dict[str, Any]) -> dict[str, Any]:
    """Enrol ``{embeddings, labels}`` as a job."""
    emb, names = _tensor(payload, "embeddings"), list(payload["labels"])

    def work(g: Gallery, ctx: JobContext) -> dict[str, Any]:
        g.add(emb, names)
        return describe_gallery(payload["id"])

    return _job("gallery.add", payload["id"], work)


def identify(payload: dict[str, Any]) -> dict[str, Any]:
    """Top-k matches and verdicts of query embeddings, as a job.

    ``payload``: ``{queries, k, threshold, vote, rerank, queryExpansion}``.
    """
    queries = _tensor(payload, "queries")

    def work(g: Gallery, ctx: JobContext) -> dict[str, Any]:
        threshold = payload["threshold"] if payload["threshold"] is not None else g.threshold
        progress = _progress(ctx, "search")
        return g.identify(
            queries,
            int(payload["k"]),
            threshold,
            payload["vote"],
            progress,
            payload["rerank"],
            payload["queryExpansion"],
        )

    return _job("gallery.identify", payload["id"], work)


def calibrate(payload: dict[str, Any]) -> dict[str, Any]:
    """Choose the threshold from labelled held-out queries: ``{embeddings, labels, targetFar, strategy}``."""
    emb, names = _tensor(payload, "embeddings"), list(payload["labels"])

    def work(g: Gallery, ctx: JobContext) -> dict[str, Any]:
        return g.calibrate(emb, names, float(payload["targetFar"]), payload["strategy"])

    return _job("gallery.calibrate", payload["id"], work)


def train(payload: dict[str, Any]) -> dict[str, Any]:
    """Train a FAISS index on the references (or a seeded sample of them): ``{sample, seed}``."""

    def work(g: Gallery, ctx: JobContext) -> dict[str, Any]:
        used = g.train(payload["sample"], int(payload["seed"]))
        return {"trainedOn": used, **describe_gallery(payload["id"])}

    return _job("gallery.train", payload["id"], work)


def measure_recall(payload: dict[str, Any]) -> dict[str, Any]:
    """Recall@k of the index against exact search: ``{sample, k, seed}``."""

    def work(g: Gallery, ctx: JobContext) -> dict[str, Any]:
        return g.measure_recall(int(payload["sample"]), int(payload["k"]), int(payload["seed"]))

    return _job("gallery.measureRecall", payload["id"], work)


def save(payload: dict[str, Any]) -> dict[str, Any]:
    """Save into ``{dir}`` atomically, with the weights' fingerprint of the model it was made with."""
    model_id = _models.get(int(payload["id"]))

    def work(g: Gallery, ctx: JobContext) -> dict[str, Any]:
        alive = model_id is not None and store.exists(model_id)
        fingerprint = weights_fingerprint(store.get(model_id)) if alive and model_id is not None else None
        manifest = persist.save(g, payload["dir"], fingerprint or (g.model or {}).get("fingerprint"))
        g.model = manifest["model"]
        return {}

    return _job("gallery.save", payload["id"], work)


def load(payload: dict[str, Any]) -> dict[str, Any]:
    """Load a gallery folder ``{dir, model: id | null}`` as a job; the model must match the one it was made with."""
    model_id = payload["model"]
    info = _model_info(model_id, fingerprint=True)

    def run(ctx: JobContext) -> dict[str, Any]:
        return _register(persist.load(payload["dir"], info), model_id)

    return {"job": jobs.start("gallery.load", run).id}
