"""The worker's RPC surface: the one module TypeScript imports through pythonia.

TypeScript calls a single function, ``dispatch(method, payload_json)``, and always gets
a JSON string back: ``{"ok": true, "result": ...}`` or ``{"ok": false, "error": {...}}``.
Strings are the only values pythonia passes without creating proxy objects, so no
Python object handle ever leaks to TypeScript, and exceptions arrive structured
(type, message, traceback) instead of as pythonia's text-only stack. Tensor payloads
never appear here: only shared-memory descriptors (see bridge/shm.py).

``HANDLERS`` below is the whole RPC surface: each method names the function that serves it, in
the package of its feature (bridge/, model/, data/, training/, evaluation/, gallery/). A handler's module is
imported on its first call, so importing this module only touches the standard library and torch
is imported once, by ``boot``: a missing torch becomes a clear error instead of an import failure.
Payloads arrive resolved (every option present): handlers read them as required keys.
"""

from __future__ import annotations

import importlib
import json
import math
from collections.abc import Callable
from typing import Any

from bridge.errors import BridgeValidationError, describe
from bridge.state import STATE

Handler = Callable[[dict[str, Any]], dict[str, Any]]

# method → "module:function"
HANDLERS: dict[str, str] = {
    # lifecycle and data plane (bridge/handlers.py)
    "boot": "bridge.handlers:boot",
    "shutdown": "bridge.handlers:shutdown",
    "info": "bridge.handlers:info",
    "echo": "bridge.handlers:echo",
    "release": "bridge.handlers:release",
    "shm.trim": "bridge.handlers:shm_trim",
    "shm.shrink": "bridge.handlers:shm_shrink",
    "ping": "bridge.handlers:ping",
    # background jobs (bridge/handlers.py, bridge/jobs.py)
    "job.poll": "bridge.handlers:job_poll",
    "job.cancel": "bridge.handlers:job_cancel",
    # recognition models (model/handlers.py)
    "recognizer.create": "model.handlers:create",
    "recognizer.mode": "model.handlers:mode",
    "recognizer.forward": "model.handlers:forward",
    "recognizer.classifier": "model.handlers:classifier",
    "recognizer.save": "model.handlers:save",
    "recognizer.load": "model.handlers:load",
    "recognizer.dispose": "model.handlers:dispose",
    "recognizer.inspect": "model.handlers:inspect",
    "recognizer.embedFiles": "model.handlers:embed_files",
    "recognizer.exportOnnx": "deploy.handlers:export_onnx",
    # training and evaluation, as jobs
    "recognizer.fit": "training.handlers:fit",
    "recognizer.evaluate": "evaluation.handlers:evaluate",
    "report.thumbnails": "evaluation.thumbnails:thumbnails",
    # galleries: enrol, identify, verify, calibrate, persist (gallery/handlers.py)
    "gallery.create": "gallery.handlers:create",
    "gallery.describe": "gallery.handlers:describe",
    "gallery.labels": "gallery.handlers:labels",
    "gallery.remove": "gallery.handlers:remove",
    "gallery.setThreshold": "gallery.handlers:set_threshold",
    "gallery.verify": "gallery.handlers:verify",
    "gallery.dispose": "gallery.handlers:dispose",
    "gallery.add": "gallery.handlers:add",
    "gallery.identify": "gallery.handlers:identify",
    "gallery.calibrate": "gallery.handlers:calibrate",
    "gallery.train": "gallery.handlers:train",
    "gallery.measureRecall": "gallery.handlers:measure_recall",
    "gallery.save": "gallery.handlers:save",
    "gallery.load": "gallery.handlers:load",
    # data sets (data/handlers.py)
    "data.synthetic": "data.handlers:synthetic",
    "data.split": "data.handlers:split",
    "data.describe": "data.handlers:describe",
}

# Registered only when boot had ``testHandlers: true`` (bridge/debug.py).
TEST_HANDLERS: dict[str, str] = {
    "debug.countJob": "bridge.debug:count_job",
    "debug.raise": "bridge.debug:debug_raise",
    "debug.sleep": "bridge.debug:debug_sleep",
    "debug.setenv": "bridge.debug:debug_setenv",
    "debug.print": "bridge.debug:debug_print",
}


def resolve(method: str) -> Handler:
    """The function serving ``method``, or a validation error when there is none (in this mode)."""
    target = HANDLERS.get(method)
    if target is None and STATE.test_handlers:
        target = TEST_HANDLERS.get(method)
    if target is None:
        raise BridgeValidationError(f"unknown worker method {method!r}")
    module, _, name = target.partition(":")
    fn: Handler = getattr(importlib.import_module(module), name)
    return fn


def to_json(value: Any) -> str:
    """JSON that JavaScript can parse: NaN and ±Infinity (which JSON lacks) become null."""
    try:
        return json.dumps(value, allow_nan=False)
    except ValueError:  # rare: only then walk the value
        return json.dumps(_finite(value), allow_nan=False)


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value


def dispatch(method: str, payload_json: str) -> str:
    """Run one RPC call and return its JSON-encoded outcome; never raises."""
    try:
        payload = json.loads(payload_json) if payload_json else {}
        # "release" is part of the call envelope, not an option: any call may carry regions to free
        if STATE.booted and "release" in payload and payload["release"]:
            STATE.shm.release(payload["release"])
        fn = resolve(method)
        if method != "boot" and not STATE.booted:
            raise BridgeValidationError("the worker has not been booted")
        result = fn(payload)
        return to_json({"ok": True, "result": result})
    except Exception as exc:  # every failure goes back structured, the worker stays up
        return to_json({"ok": False, "error": describe(exc)})
    finally:
        if STATE.booted:
            STATE.shm.end_call()
