"""Keep the worker's output off the user's stdout and remember its last lines.

pythonia starts Python with Node's own stdout and stderr. Anything Python or a C
library prints (torch warnings included) would land in the middle of the user's
stdout, so file descriptors 1 and 2 are redirected to a pipe; a daemon thread relays
the pipe to the real stderr and into a small log file in the session's private folder, which
TypeScript reads to report the last lines when the worker dies. Fatal errors
(faulthandler) are written to that file directly, since the relay dies with them.
"""

from __future__ import annotations

import contextlib
import faulthandler
import fcntl
import os
import struct
import sys
import termios
import threading
import time

LOG_LIMIT = 256 * 1024  # bytes kept in the log file at most
LOG_KEEP = 64 * 1024  # bytes kept when the file is trimmed


_relay_state: dict[str, int] = {}  # the pipe's read end, once guarded
_copying = threading.Lock()  # held while the relay copies a chunk it has read


def guard_stdio(log_path: str) -> None:
    """Route fds 1 and 2 through a relay to stderr and ``log_path``."""
    real_stderr = os.dup(2)
    read_end, write_end = os.pipe()
    _relay_state["read_end"] = read_end
    os.dup2(write_end, 1)
    os.dup2(write_end, 2)
    os.close(write_end)
    sys.stdout = sys.stderr = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115 - lives as long as the process
    # a new file, never an existing one or a symlink planted in its place (the folder is private too)
    log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_APPEND, 0o600)
    faulthandler.enable(file=log_fd, all_threads=True)
    threading.Thread(target=_relay, args=(read_end, real_stderr, log_fd), name="stdio-relay", daemon=True).start()


def _relay(read_end: int, real_stderr: int, log_fd: int) -> None:
    """Copy everything written to fds 1 and 2 into the real stderr and the bounded log."""
    while chunk := os.read(read_end, 65536):
        with _copying:
            with contextlib.suppress(OSError):  # Node went away: keep the log going
                os.write(real_stderr, chunk)
            os.write(log_fd, chunk)
            if os.fstat(log_fd).st_size > LOG_LIMIT:
                _trim(log_fd)


def drain(timeout: float = 1.0) -> None:
    """Wait until everything written to fds 1 and 2 so far has reached stderr and the log.

    Called before the worker is stopped: TypeScript kills it right after, and output still in the pipe
    (a last warning, a print) would be lost.
    """
    read_end = _relay_state.get("read_end")
    if read_end is None:
        return
    sys.stdout.flush()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        waiting = struct.unpack("i", fcntl.ioctl(read_end, termios.FIONREAD, b"\0\0\0\0"))[0]
        if waiting == 0:
            with _copying:  # the relay has finished copying what it read last
                return
        time.sleep(0.005)


def _trim(log_fd: int) -> None:
    """Keep only the last ``LOG_KEEP`` bytes of the log."""
    size = os.fstat(log_fd).st_size
    tail = os.pread(log_fd, LOG_KEEP, size - LOG_KEEP)
    os.ftruncate(log_fd, 0)
    os.write(log_fd, tail)
