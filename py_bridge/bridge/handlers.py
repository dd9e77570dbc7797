"""Handlers of the worker's lifecycle, data plane and jobs: ``boot``, ``info``, ``echo``, ``job.poll`` and the rest.

Every handler takes the call's payload (a dict decoded from JSON, resolved by TypeScript: every
key present) and returns a JSON-able dict. torch is imported by ``boot``, once.
"""

from __future__ import annotations

import os
import platform
import sys
from pathlib import Path
from typing import Any

from bridge import jobs, reproducibility
from bridge.errors import EnvironmentProblem, describe
from bridge.memory import tune_heap
from bridge.state import STATE


def boot(payload: dict[str, Any]) -> dict[str, Any]:
    """Guard stdio, import torch once, pick the device, map shared memory, and say whether test handlers exist.

    ``payload``: ``{logPath, device, threads: int | null, shmDir, prefix, primaryBytes, maxBytes,
    deterministic, testHandlers, setupCommand}`` (``setupCommand``: the command that builds the Python
    environment where the user stands, ``npm run setup`` or ``npx recognite setup``).
    """
    from bridge.parent_watch import watch_parent
    from bridge.stdio_guard import guard_stdio

    watch_parent()  # a Node killed with SIGKILL takes its worker with it
    guard_stdio(payload["logPath"])
    tune_heap()  # before torch allocates anything (bridge/memory.py)
    reproducibility.prepare_environment(bool(payload["deterministic"]))  # before torch can touch CUDA
    try:
        import torch
        import torchvision  # noqa: F401 - imported once here for the whole session
    except ImportError as exc:
        requirements = Path(__file__).resolve().parents[2] / "requirements.txt"  # the package's own copy
        raise EnvironmentProblem(
            f"{exc.name or 'torch'} cannot be imported by {sys.executable}: {exc}. "
            f"Run `{payload['setupCommand']}` (or `{sys.executable} -m pip install -r {requirements}`), "
            "or pass the `python` option of an interpreter that has torch and torchvision."
        ) from None
    from bridge.devices import resolve_device
    from bridge.shm import SharedMemory

    STATE.device = resolve_device(payload["device"])
    reproducibility.apply(bool(payload["deterministic"]), STATE.device)
    if payload["threads"] is not None:  # null: torch's own choice (behaviour, not a default)
        torch.set_num_threads(int(payload["threads"]))
    STATE.test_handlers = bool(payload["testHandlers"])
    STATE.shm = SharedMemory(
        payload["shmDir"], payload["prefix"], int(payload["primaryBytes"]), int(payload["maxBytes"])
    )
    return info({})


def shutdown(payload: dict[str, Any]) -> dict[str, Any]:
    """Stop running jobs and remove every shared-memory file; the process is stopped by TypeScript."""
    from bridge.stdio_guard import drain

    jobs.cancel_all()
    STATE.shm.close()
    STATE.shm = None
    drain()  # what the worker printed last reaches stderr before TypeScript stops it
    return {}


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
        "deterministic": reproducibility.is_deterministic(),
        **_gpu_info(torch, STATE.device),
    }


def _gpu_info(torch: Any, device: Any) -> dict[str, Any]:
    """The GPU in use (name, memory), and the CUDA and cuDNN versions torch was built with; nulls on the CPU."""
    on_gpu = device is not None and device.type == "cuda"
    props = torch.cuda.get_device_properties(device) if on_gpu else None
    return {
        "gpuName": props.name if props else None,
        "gpuMemoryBytes": int(props.total_memory) if props else None,
        "cudaVersion": torch.version.cuda,
        "cudnnVersion": torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None,
    }


def echo(payload: dict[str, Any]) -> dict[str, Any]:
    """Return the worker's own copy of a tensor: the diagnostic round trip."""
    tensor = STATE.shm.read_json(payload["tensor"])
    return {"tensor": STATE.shm.write(tensor).to_json()}


def release(payload: dict[str, Any]) -> dict[str, Any]:
    """Nothing beyond the ``release`` list every call may carry (see ``worker.dispatch``)."""
    return {}


def shm_trim(payload: dict[str, Any]) -> dict[str, Any]:
    """Hand the pages of free shared-memory regions back after a 'shared memory is full' error."""
    STATE.shm.trim(payload["segment"], payload["free"])
    return {}


def shm_shrink(payload: dict[str, Any]) -> dict[str, Any]:
    """After a quiet spell: unmap TypeScript's dropped segments (``forget``) and drop our idle extra ones."""
    STATE.shm.forget(payload["forget"])
    STATE.shm.shrink()
    return {}


def ping(payload: dict[str, Any]) -> dict[str, Any]:
    """An empty call, for latency measurements and liveness checks."""
    return {}


def job_poll(payload: dict[str, Any]) -> dict[str, Any]:
    """A job's progress events since the last poll, its state and, once finished, its outcome.

    ``waitMs`` (at most 50) lets the first poll wait for a quick job to finish, so a small
    identify or add answers in about its own time instead of a whole polling interval.
    """
    from bridge.encoding import encode_tensors

    job = jobs.get(payload["id"])
    wait = min(max(float(payload["waitMs"]), 0.0), 50.0)
    if wait and job.state == "running":
        job.join(wait / 1000)
    state = job.state  # read once: the outcome below must match it
    out: dict[str, Any] = {"state": state, "events": job.context.take_events()}
    if state == "done":
        out["result"] = encode_tensors(job.result)
    elif state == "failed":
        out["error"] = describe(job.error) if job.error is not None else None
    if state != "running":
        jobs.forget(job.id)
    return out


def job_cancel(payload: dict[str, Any]) -> dict[str, Any]:
    """Ask a job to stop after its current step."""
    jobs.get(payload["id"]).context.cancel()
    return {}
