"""Exit when the Node process that started the worker dies.

A Node process killed with SIGKILL cannot stop its worker, and a worker busy in a long call would
otherwise live on, orphaned, until that call ends. On Linux the kernel kills the worker when its parent
dies (PR_SET_PDEATHSIG); a thread also watches the parent id, for the parent that died before the prctl
and for systems without it.

The worker also ignores SIGINT: Ctrl-C in a terminal reaches the whole foreground process group, the
worker and its loader processes included, and it is Node's to handle (stop a job, close, or exit,
which ends the worker). A worker that died of it would lose the job Node was stopping cleanly.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
POLL_SECONDS = 0.5


def watch_parent() -> None:
    """Arrange for this process to end within about a second of its parent's death."""
    parent = os.getppid()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # inherited by the loader processes it forks
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    threading.Thread(target=_poll, args=(parent,), name="parent-watch", daemon=True).start()


def _poll(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(POLL_SECONDS)
    os._exit(70)  # reparented: the parent is gone (EX_SOFTWARE; nobody is left to read it)
