"""Handler of ``recognizer.fit``: training as a job that TypeScript polls."""

from __future__ import annotations

from typing import Any

from bridge import jobs
from bridge.state import STATE
from model import store


def fit(payload: dict[str, Any]) -> dict[str, Any]:
    """Start training a model as a job (see fit.py; distributed/launch.py with ``distributed``)."""
    from training.fit import fit as run_fit

    model = store.get(payload["id"])
    options = payload["options"]
    device = STATE.device
    if options["distributed"] is not None:
        from training.distributed.launch import fit_distributed, resolve

        resolve(options["distributed"], device)  # a bad backend or count fails the call, before a job starts
        return {"job": jobs.start("fit", lambda ctx: fit_distributed(model, device, options, ctx)).id}
    return {"job": jobs.start("fit", lambda ctx: run_fit(model, device, options, ctx)).id}
