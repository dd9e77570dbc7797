"""Test-only handlers (``debug.*``): registered only when ``boot`` had ``testHandlers: true``.

They exist for the fault and job tests: raising, blocking, printing, setting environment
variables, and a counting job. A production worker answers them as unknown methods.
"""

from __future__ import annotations

import os
import time
from typing import Any

from bridge import jobs


def count_job(payload: dict[str, Any]) -> dict[str, Any]:
    """A job that counts ``steps`` steps of ``stepSeconds``, reporting each, failing at ``failAt`` (or null)."""
    steps, pause, fail_at = int(payload["steps"]), float(payload["stepSeconds"]), payload["failAt"]

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


def debug_raise(payload: dict[str, Any]) -> dict[str, Any]:
    """Raise an ordinary Python exception with ``message``, to show the worker survives one."""
    raise ZeroDivisionError(payload["message"])


def debug_sleep(payload: dict[str, Any]) -> dict[str, Any]:
    """Block the dispatch thread for ``seconds``, to exercise time-outs and crashes mid-call."""
    time.sleep(float(payload["seconds"]))
    return {}


def debug_setenv(payload: dict[str, Any]) -> dict[str, Any]:
    """Set (or, with a null ``value``, remove) an environment variable of the worker, e.g. TORCH_HOME in tests."""
    if payload["value"] is None:
        os.environ.pop(payload["name"], None)
    else:
        os.environ[payload["name"]] = str(payload["value"])
    return {}


def debug_print(payload: dict[str, Any]) -> dict[str, Any]:
    """Print ``text`` to stdout from Python and from C, to show neither reaches the user's stdout."""
    text = str(payload["text"])
    print(text, flush=True)
    os.write(1, (text + " (fd 1)\n").encode())
    return {}
