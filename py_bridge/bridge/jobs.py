"""Long work (training, embedding a folder, evaluation) as cancellable background jobs.

pythonia serves one call at a time on one thread, so a long call would block every other
call, progress included. A job runs on a daemon thread instead; the dispatch thread stays
free, and TypeScript polls it (``job.poll``) for the progress events the job reported
since the last poll, its state, and finally its result or error. Cancelling sets a flag
the job checks between steps (after the current batch), so what it leaves behind is
consistent.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from typing import Any

from bridge.errors import BridgeValidationError


class Cancelled(Exception):
    """Raised inside a job by ``JobContext.check_cancelled`` once cancellation was asked for."""


class JobContext:
    """What a running job sees: a way to report progress and to notice cancellation."""

    def __init__(self) -> None:
        """Start with no events and no cancellation."""
        self._events: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._cancel = threading.Event()
        self._seq = 0

    def report(self, event: dict[str, Any]) -> None:
        """Queue a progress event (a small JSON-able dict) for TypeScript's next poll."""
        with self._lock:
            self._seq += 1
            self._events.append({**event, "seq": self._seq})

    def take_events(self) -> list[dict[str, Any]]:
        """Hand over the events queued since the last call."""
        with self._lock:
            events, self._events = self._events, []
        return events

    @property
    def cancelled(self) -> bool:
        """Whether cancellation was asked for."""
        return self._cancel.is_set()

    def check_cancelled(self) -> None:
        """Raise ``Cancelled`` if cancellation was asked for; call it between steps."""
        if self._cancel.is_set():
            raise Cancelled()

    def cancel(self) -> None:
        """Ask the job to stop at its next check."""
        self._cancel.set()


class Job:
    """One background job: its thread, context, and outcome."""

    def __init__(self, job_id: int, kind: str, fn: Callable[[JobContext], dict[str, Any]]) -> None:
        """Start ``fn(context)`` on a daemon thread (it must not keep the worker alive at exit)."""
        self.id = job_id
        self.kind = kind
        self.context = JobContext()
        self.state = "running"  # running | done | failed | cancelled
        self.result: dict[str, Any] | None = None
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(fn,), name=f"job-{job_id}-{kind}", daemon=True)
        self._thread.start()

    def _run(self, fn: Callable[[JobContext], dict[str, Any]]) -> None:
        try:
            self.result = fn(self.context)
            self.state = "done"
        except Cancelled:
            self.state = "cancelled"
        except BaseException as exc:  # reported to TypeScript as a typed error
            self.error = exc
            self.state = "failed"

    def join(self, timeout: float | None = None) -> None:
        """Wait for the thread (tests and shutdown)."""
        self._thread.join(timeout)


_jobs: dict[int, Job] = {}
_ids = itertools.count(1)


def start(kind: str, fn: Callable[[JobContext], dict[str, Any]]) -> Job:
    """Run ``fn`` as a new job of ``kind``."""
    job = Job(next(_ids), kind, fn)
    _jobs[job.id] = job
    return job


def get(job_id: int) -> Job:
    """The job with this id."""
    job = _jobs.get(int(job_id))
    if job is None:
        raise BridgeValidationError(f"no job with id {job_id}", path="job")
    return job


def forget(job_id: int) -> None:
    """Drop a finished job once TypeScript has its outcome."""
    _jobs.pop(int(job_id), None)


def cancel_all(timeout: float = 5.0) -> None:
    """Cancel every running job and wait a little for each (worker shutdown)."""
    for job in list(_jobs.values()):
        job.context.cancel()
    for job in list(_jobs.values()):
        job.join(timeout)
