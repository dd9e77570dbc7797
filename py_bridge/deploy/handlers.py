"""Handler of ``recognizer.exportOnnx``: the ONNX export as a job that TypeScript polls."""

from __future__ import annotations

import os
from typing import Any

from bridge import jobs
from model import store


def export_onnx(payload: dict[str, Any]) -> dict[str, Any]:
    """Start exporting a model's embedding path to ONNX (see deploy/run.py) as a job.

    ``payload``: ``{id, path, options: {size, dynamicBatch, opset: int | null}, recogniteTs}``.
    """
    from deploy import files
    from deploy.run import export_onnx as run

    model = store.get(payload["id"])
    path = os.path.abspath(payload["path"])
    files.check_target(path)  # a refusal comes back now, not from the job
    options, version = payload["options"], str(payload["recogniteTs"])
    return {"job": jobs.start("exportOnnx", lambda ctx: run(model, path, options, version, ctx)).id}
