"""Where loader worker processes come from: a forkserver, never a fork of the worker itself.

The worker is threaded (jobs, pythonia's I/O thread, torch's pools) and may have initialised
CUDA; ``fork`` copies such a process mid-flight (a lock held by another thread stays held in the
child, and CUDA cannot be used after a fork). ``forkserver`` forks each loader process from a small
server started once, single-threaded and without CUDA, that has imported torch already. Measured on
the 2-core CPU machine (busy with other work, so roughly), time to the first batch of a loader with 2
processes: ``fork`` 0.20 s; ``forkserver`` 0.08 s, after 4.8 s once per worker session for the
first loader (the server imports torch); ``spawn`` 14 s every time (each child imports torch and
re-runs the main module). Training loaders keep their processes for the whole fit, so the server's
start is paid once per session; so ``forkserver``, on every device, for one behaviour everywhere
(``spawn`` where there is no forkserver). ``fork`` on the CPU was tried (0.06 s to a first batch against
4.85 s on a quiet machine, ``bench/loader_start.py``): two fits running side by side with 2 loader
processes each then hung once in the test suite (test_fit_determinism), a loader process forked while
the other job's thread held a lock it needed, which is exactly the hazard, so it was reverted.
Datasets and transforms are module-level classes so that they pickle, which both start methods need.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import threading
import time
from multiprocessing.context import BaseContext

# The forkserver imports these before it forks anything: each loader process starts with them. Python
# 3.11's forkserver does not apply the parent's sys.path before preloading (3.12 does), so there the
# worker's own modules fail to preload (silently) and load in each child instead: cheap, once torch is in.
_PRELOAD = ["torch", "torchvision.transforms.v2", "pandas", "data.dataset", "data.transforms", "training.loader"]
WATCH_SECONDS = 0.5
_lock = threading.Lock()
_context: BaseContext | None = None


def loader_context() -> BaseContext:
    """The multiprocessing context of every DataLoader with worker processes (made once per process)."""
    global _context
    with _lock:
        if _context is None:
            _hide_main_script()
            method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
            context = multiprocessing.get_context(method)
            if method == "forkserver":
                context.set_forkserver_preload(_PRELOAD)
            _context = context
        return _context


def _hide_main_script() -> None:
    """Keep the start methods from re-running this process's main script in every child.

    ``forkserver`` and ``spawn`` re-import ``__main__`` by its file in each child (as ``__mp_main__``).
    Under pythonia that file is pythonia's ``interface.py``, whose module body is the loop serving
    Node's IPC channel: a child would run a second one. The worker's ``__main__`` is never a script
    to re-run, so it loses its ``__file__`` (multiprocessing then leaves it alone); a ``-m`` main
    (pytest's) is re-imported by name only when it is not a ``__main__`` module, which it is.
    """
    main = sys.modules.get("__main__")
    if main is not None and getattr(main, "__spec__", None) is None and hasattr(main, "__file__"):
        del main.__file__


def watch_worker(worker_pid: int, _loader_id: int) -> None:
    """DataLoader ``worker_init_fn`` (bound to the worker's pid): end this loader soon after the worker.

    A loader process's parent is the forkserver, not the worker, so PyTorch's own check (is my parent
    still there?) never fires when the worker is killed; and the forkserver stays up while any loader
    holds its "alive" pipe, which every loader does. Without this, killing a worker mid-epoch would
    leave the forkserver, its loaders and the resource tracker running for good. Once the loaders
    exit, the forkserver sees its pipe close and exits, and then the resource tracker.
    """

    def poll() -> None:
        while True:
            try:
                os.kill(worker_pid, 0)
            except ProcessLookupError:
                os._exit(0)
            except PermissionError:
                pass  # alive (another user's process cannot be ours, but do not guess)
            time.sleep(WATCH_SECONDS)

    threading.Thread(target=poll, name="watch-worker", daemon=True).start()
