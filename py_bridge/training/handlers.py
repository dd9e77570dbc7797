"""Handler of ``recognizer.fit``: training as a job that TypeScript polls."""

from __future__ import annotations

from typing import Any

from bridge import jobs
from bridge.state import STATE
from model import store


def fit(payload: dict[str, Any]) -> dict[str, Any]:
    """Start training a model as a job (see fit.py): ``{id, options: resolved FitOptions}``."""
    from training.fit import fit as run_fit

    model = store.get(payload["id"])
    options = payload["options"]
    device = STATE.device
    return {"job": jobs.start("fit", lambda ctx: run_fit(model, device, options, ctx)).id}
