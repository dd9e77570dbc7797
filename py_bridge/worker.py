"""The worker's RPC surface: the one module TypeScript imports through pythonia.

TypeScript calls a single function, ``dispatch(method, payload_json)``, and always gets
a JSON string back: ``{"ok": true, "result": ...}`` or ``{"ok": false, "error": {...}}``.
Strings are the only values pythonia passes without creating proxy objects, so no
Python object handle ever leaks to TypeScript, and exceptions arrive structured
(type, message, traceback) instead of as pythonia's text-only stack. Tensor payloads
never appear here: only shared-memory descriptors (see shm.py).

Importing this module only touches the standard library; torch is imported once, by
``boot``, so a missing torch becomes a clear error instead of an import failure.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any

from bridge_errors import BridgeValidationError, EnvironmentProblem, SharedMemoryFull

Handler = Callable[[dict[str, Any]], dict[str, Any]]
HANDLERS: dict[str, Handler] = {}


class _State:
    """What ``boot`` set up; one per worker process."""

    shm: Any = None  # shm.SharedMemory once booted
    device: Any = None  # torch.device once booted


STATE = _State()


def handler(name: str) -> Callable[[Handler], Handler]:
    """Register a function as the handler of RPC method ``name``."""

    def register(fn: Handler) -> Handler:
        HANDLERS[name] = fn
        return fn

    return register


def dispatch(method: str, payload_json: str) -> str:
    """Run one RPC call and return its JSON-encoded outcome; never raises."""
    try:
        payload = json.loads(payload_json) if payload_json else {}
        if STATE.shm is not None and payload.get("release"):
            STATE.shm.release(payload["release"])
        fn = HANDLERS.get(method)
        if fn is None:
            raise BridgeValidationError(f"unknown worker method {method!r}")
        if method != "boot" and STATE.shm is None:
            raise BridgeValidationError("the worker has not been booted")
        result = fn(payload)
        return json.dumps({"ok": True, "result": result})
    except Exception as exc:  # every failure goes back structured, the worker stays up
        return json.dumps({"ok": False, "error": describe(exc)})
    finally:
        if STATE.shm is not None:
            STATE.shm.end_call()


def describe(exc: BaseException) -> dict[str, Any]:
    """The structured form of an exception that TypeScript turns into a typed error."""
    kind = "python"
    if isinstance(exc, BridgeValidationError):
        kind = "validation"
    elif isinstance(exc, EnvironmentProblem):
        kind = "environment"
    elif isinstance(exc, SharedMemoryFull):
        kind = "shared-memory"
    return {
        "kind": kind,
        "type": type(exc).__name__,
        "message": exc.strerror if isinstance(exc, SharedMemoryFull) else str(exc),
        "path": getattr(exc, "path", ""),
        "traceback": "".join(traceback.format_exception(exc)),
    }


# --- lifecycle -------------------------------------------------------------------
@handler("boot")
def boot(payload: dict[str, Any]) -> dict[str, Any]:
    """Guard stdio, import torch once, pick the device and map shared memory."""
    from stdio_guard import guard_stdio

    guard_stdio(payload["logPath"])
    try:
        import torch  # noqa: F401 - imported once here for the whole session
        import torchvision  # noqa: F401
    except ImportError as exc:
        raise EnvironmentProblem(
            f"{exc.name or 'torch'} cannot be imported by {sys.executable}: {exc}. "
            "Run `npm run setup` in the recognite-ts folder (or `"
            f"{sys.executable} -m pip install -r requirements.txt`), "
            "or pass the `python` option of an interpreter that has torch and torchvision."
        ) from None
    from devices import resolve_device
    from memory import fix_mmap_threshold
    from shm import SharedMemory

    fix_mmap_threshold()

    STATE.device = resolve_device(payload.get("device", "auto"))
    if payload.get("threads"):
        torch.set_num_threads(int(payload["threads"]))
    STATE.shm = SharedMemory(payload["shmDir"], payload["prefix"], int(payload["primaryBytes"]))
    return info({})


@handler("shutdown")
def shutdown(payload: dict[str, Any]) -> dict[str, Any]:
    """Stop running jobs and remove every shared-memory file; the process is stopped by TypeScript."""
    import jobs

    jobs.cancel_all()
    STATE.shm.close()
    STATE.shm = None
    return {}


@handler("info")
def info(payload: dict[str, Any]) -> dict[str, Any]:
    """Versions, device and threads, as ``rt.info()`` returns them."""
    import numpy
    import torch
    import torchvision

    return {
        "python": platform.python_version(),
        "pythonExecutable": sys.executable,
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "numpy": numpy.__version__,
        "device": str(STATE.device),
        "cuda": torch.cuda.is_available(),
        "cudaDevices": torch.cuda.device_count() if torch.cuda.is_available() else 0,
        "threads": torch.get_num_threads(),
        "pid": os.getpid(),
    }


# --- data plane ------------------------------------------------------------------
@handler("echo")
def echo(payload: dict[str, Any]) -> dict[str, Any]:
    """Return the worker's own copy of a tensor: the diagnostic round trip."""
    tensor = STATE.shm.read_json(payload["tensor"])
    return {"tensor": STATE.shm.write(tensor).to_json()}


@handler("release")
def release(payload: dict[str, Any]) -> dict[str, Any]:
    """Nothing beyond the ``release`` list every call may carry (see ``dispatch``)."""
    return {}


@handler("shm.trim")
def shm_trim(payload: dict[str, Any]) -> dict[str, Any]:
    """Hand the pages of free shared-memory regions back after a 'shared memory is full' error."""
    STATE.shm.trim(payload["segment"], payload["free"])
    return {}


@handler("ping")
def ping(payload: dict[str, Any]) -> dict[str, Any]:
    """An empty call, for latency measurements and liveness checks."""
    return {}


# --- recognition models ------------------------------------------------------------
def _describe_model(model_id: int, model: Any) -> dict[str, Any]:
    return {
        "id": model_id,
        "embeddingDim": model.embedding_dim,
        "numClasses": model.classifier.out_features if model.classifier is not None else None,
        "training": model.training,
    }


@handler("recognizer.create")
def recognizer_create(payload: dict[str, Any]) -> dict[str, Any]:
    """Build a Recognizer from a RecognizerConfig that TypeScript has validated."""
    import model_store

    model_id, model = model_store.create(payload["config"], STATE.device)
    return _describe_model(model_id, model)


@handler("recognizer.mode")
def recognizer_mode(payload: dict[str, Any]) -> dict[str, Any]:
    """Switch a model to training (``training: true``) or evaluation mode."""
    import model_store

    model = model_store.get(payload["id"])
    model.train(bool(payload["training"]))
    return _describe_model(payload["id"], model)


@handler("recognizer.forward")
def recognizer_forward(payload: dict[str, Any]) -> dict[str, Any]:
    """Logits (training mode with a classifier) or embeddings; ``eval`` forces evaluation mode for the call."""
    import model_store

    model = model_store.get(payload["id"])
    x = STATE.shm.read_json(payload["input"])
    out = model_store.run(model, x, eval_mode=bool(payload.get("eval", False)))
    return {"output": STATE.shm.write(out).to_json()}


@handler("recognizer.classifier")
def recognizer_classifier(payload: dict[str, Any]) -> dict[str, Any]:
    """Copies of the classifier's weight (one row per class) and bias, or nulls without a classifier."""
    import model_store

    clf = model_store.get(payload["id"]).classifier
    if clf is None:
        return {"weight": None, "bias": None}
    bias = STATE.shm.write(clf.bias).to_json() if clf.bias is not None else None
    return {"weight": STATE.shm.write(clf.weight).to_json(), "bias": bias}


@handler("recognizer.save")
def recognizer_save(payload: dict[str, Any]) -> dict[str, Any]:
    """Save the state dict (recognite's keys) atomically."""
    import model_store

    model_store.save(model_store.get(payload["id"]), payload["path"])
    return {}


@handler("recognizer.load")
def recognizer_load(payload: dict[str, Any]) -> dict[str, Any]:
    """Load a state dict, refusing (with the keys named) one that does not fit."""
    import model_store

    model_store.load(model_store.get(payload["id"]), payload["path"])
    return {}


@handler("recognizer.dispose")
def recognizer_dispose(payload: dict[str, Any]) -> dict[str, Any]:
    """Forget a model and free its memory."""
    import model_store

    model_store.dispose(payload["id"])
    return {}


# --- long work: background jobs -------------------------------------------------------
def _encode(value: Any) -> Any:
    """Replace tensors anywhere in a job result by shared-memory descriptors."""
    import torch

    if isinstance(value, torch.Tensor):
        return STATE.shm.write(value).to_json()
    if isinstance(value, dict):
        return {k: _encode(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_encode(v) for v in value]
    return value


@handler("job.poll")
def job_poll(payload: dict[str, Any]) -> dict[str, Any]:
    """A job's progress events since the last poll, its state and, once finished, its outcome."""
    import jobs

    job = jobs.get(payload["id"])
    state = job.state  # read once: the outcome below must match it
    out: dict[str, Any] = {"state": state, "events": job.context.take_events()}
    if state == "done":
        out["result"] = _encode(job.result)
    elif state == "failed":
        out["error"] = describe(job.error) if job.error is not None else None
    if state != "running":
        jobs.forget(job.id)
    return out


@handler("job.cancel")
def job_cancel(payload: dict[str, Any]) -> dict[str, Any]:
    """Ask a job to stop after its current step."""
    import jobs

    jobs.get(payload["id"]).context.cancel()
    return {}


@handler("recognizer.fit")
def recognizer_fit(payload: dict[str, Any]) -> dict[str, Any]:
    """Start training a model as a job (see train.py); TypeScript polls it."""
    import jobs
    import model_store
    import train

    model = model_store.get(payload["id"])
    options = payload["options"]
    return {"job": jobs.start("fit", lambda ctx: train.fit(model, STATE.device, options, ctx)).id}


@handler("recognizer.embedFiles")
def recognizer_embed_files(payload: dict[str, Any]) -> dict[str, Any]:
    """Start embedding image files (a list of paths or a data set CSV) as a job."""
    import embed_files
    import jobs
    import model_store

    model = model_store.get(payload["id"])
    return {"job": jobs.start("embed", lambda ctx: embed_files.embed(model, STATE.device, payload, ctx)).id}


@handler("recognizer.evaluate")
def recognizer_evaluate(payload: dict[str, Any]) -> dict[str, Any]:
    """Start evaluating a model on a gallery and a query set (data sets or embeddings) as a job."""
    import evaluation
    import jobs
    import model_store

    model = model_store.get(payload["id"])

    sides = {name: evaluation.prepare_side(payload[name], STATE.shm.read_json, name) for name in ("gallery", "query")}
    options = payload["options"]
    return {"job": jobs.start("evaluate", lambda ctx: evaluation.run(model, STATE.device, sides, options, ctx)).id}


# --- data sets ------------------------------------------------------------------------
@handler("data.synthetic")
def data_synthetic(payload: dict[str, Any]) -> dict[str, Any]:
    """Generate a synthetic recognition data set as a job (see synthetic.py)."""
    import jobs
    import synthetic

    def run(ctx: jobs.JobContext) -> dict[str, Any]:
        def progress(done: int, total: int) -> None:
            ctx.check_cancelled()
            ctx.report({"type": "progress", "done": done, "total": total})

        return synthetic.generate(
            payload["outDir"],
            payload["identities"],
            payload["samplesPerIdentity"],
            size=payload.get("size", 64),
            seed=payload.get("seed", 0),
            progress=progress,
            image_format=payload.get("format", "png"),
        )

    return {"job": jobs.start("synthetic", run).id}


@handler("data.split")
def data_split(payload: dict[str, Any]) -> dict[str, Any]:
    """Split a CSV data set (recognite's semantics) and write one CSV per part into ``outDir``."""
    import data_splits

    return data_splits.split_to_csvs(payload)


@handler("debug.countJob")
def debug_count_job(payload: dict[str, Any]) -> dict[str, Any]:
    """A job that counts ``steps`` steps of ``stepSeconds``, reporting each: for the job tests."""
    import jobs

    steps, pause, fail_at = int(payload.get("steps", 5)), float(payload.get("stepSeconds", 0.01)), payload.get("failAt")

    def count(ctx: jobs.JobContext) -> dict[str, Any]:
        import torch

        for step in range(1, steps + 1):
            ctx.check_cancelled()
            time.sleep(pause)
            if step == fail_at:
                raise RuntimeError(f"failed at step {step} (on purpose)")
            ctx.report({"type": "step", "step": step, "of": steps})
        return {"counted": steps, "values": torch.arange(steps, dtype=torch.float32)}

    return {"job": jobs.start("count", count).id}


# --- diagnostics used by the fault tests -------------------------------------------
@handler("debug.raise")
def debug_raise(payload: dict[str, Any]) -> dict[str, Any]:
    """Raise an ordinary Python exception, to show the worker survives one."""
    raise ZeroDivisionError(payload.get("message", "division by zero (raised on purpose)"))


@handler("debug.sleep")
def debug_sleep(payload: dict[str, Any]) -> dict[str, Any]:
    """Block the dispatch thread, to exercise time-outs and crashes mid-call."""
    time.sleep(float(payload.get("seconds", 1)))
    return {}


@handler("debug.setenv")
def debug_setenv(payload: dict[str, Any]) -> dict[str, Any]:
    """Set (or, with a null value, remove) an environment variable of the worker, e.g. TORCH_HOME in tests."""
    if payload.get("value") is None:
        os.environ.pop(payload["name"], None)
    else:
        os.environ[payload["name"]] = str(payload["value"])
    return {}


@handler("debug.print")
def debug_print(payload: dict[str, Any]) -> dict[str, Any]:
    """Print to stdout from Python and from C, to show neither reaches the user's stdout."""
    text = str(payload.get("text", "hello from the worker"))
    print(text, flush=True)
    os.write(1, (text + " (fd 1)\n").encode())
    return {}
