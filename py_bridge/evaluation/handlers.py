"""Handler of ``recognizer.evaluate``: evaluation as a job that TypeScript polls."""

from __future__ import annotations

from typing import Any

from bridge import jobs
from bridge.state import STATE
from model import store


def evaluate(payload: dict[str, Any]) -> dict[str, Any]:
    """Start evaluating a model on a gallery and a query set (data sets or embeddings) as a job.

    ``payload``: ``{id, gallery: {dataset} | {embeddings, labels}, query: same, options: resolved}``.
    """
    from evaluation.run import check_sizes, prepare_side, run

    model = store.get(payload["id"])
    sides = {name: prepare_side(payload[name], STATE.shm.read_json, name) for name in ("gallery", "query")}
    options = payload["options"]
    check_sizes(sides, options)  # a refusal comes back now, not after the embedding
    device = STATE.device
    return {"job": jobs.start("evaluate", lambda ctx: run(model, device, sides, options, ctx)).id}
