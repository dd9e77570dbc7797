"""Where loader worker processes come from: a fork on the CPU, a forkserver on a GPU.

The worker is threaded (jobs, pythonia's I/O thread, torch's pools) and, on a GPU, has initialised
CUDA, which cannot be used in a forked child: so on CUDA every loader process comes from a
``forkserver``, a small server started once, single-threaded and without CUDA, that has imported torch
already. On the CPU a ``fork`` is what PyTorch itself does on Linux and costs nothing: measured on the
2-core CPU machine, time to the first batch of a loader with one process (``python /tmp/ls.py``, a
loader over an in-memory data set in a process that has imported torch): ``fork`` 0.06 s;
``forkserver`` 4.85 s for the first loader of a session (the server imports torch, torchvision and
pandas), 0.05 s after that; ``spawn`` (14 s every time, each child imports torch) is used only where
there is no forkserver. Five seconds is a third of a training epoch here and most of a small embedding
job, so the CPU keeps ``fork``; its one hazard, a lock held by another thread at the moment of the fork,
is covered by the locks Python and torch re-initialise after a fork (imports, logging, torch's thread
pools), and loader processes run only decoding and transforms. Datasets and transforms are
module-level classes so that they pickle, which the forkserver needs (tested on the CPU).
"""

from __future__ import annotations

import multiprocessing
import sys
import threading
from multiprocessing.context import BaseContext

import torch

# The forkserver imports these before it forks anything: each loader process starts with them. Python
# 3.11's forkserver does not apply the parent's sys.path before preloading (3.12 does), so there the
# worker's own modules fail to preload (silently) and load in each child instead: cheap, once torch is in.
_PRELOAD = ["torch", "torchvision.transforms.v2", "pandas", "data.dataset", "data.transforms", "training.loader"]
_lock = threading.Lock()
_server_context: BaseContext | None = None


def loader_context(device: torch.device) -> BaseContext:
    """The multiprocessing context of every DataLoader with worker processes that feeds ``device``."""
    if device.type != "cuda":
        return multiprocessing.get_context("fork")
    global _server_context
    with _lock:
        if _server_context is None:
            _hide_main_script()
            method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
            context = multiprocessing.get_context(method)
            if method == "forkserver":
                context.set_forkserver_preload(_PRELOAD)
            _server_context = context
        return _server_context


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
