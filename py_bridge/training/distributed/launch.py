"""``fit`` with ``distributed``: the worker runs torchrun as a child process group and relays it.

The worker checks what it can first (backend against device, process count against cores or GPUs,
the training set against the model), saves its model's current weights to a temporary folder, and
starts ``python -m torch.distributed.run … -m training.distributed.rank <spec.json>`` with its own
interpreter, in a session of its own (``start_new_session``): the group is torchrun, its ranks and
their loader processes, and it is ended as one. While it runs, the events rank 0 appends to a file
(one JSON object a line, the shapes of a single-process fit) go out through ``ctx.report``.

Cancelling sends the group SIGTERM, then SIGKILL after ``GRACE_S``; the checkpoint stays whole (it is
written atomically). When torchrun exits non-zero, the job fails with ``RankFailed`` naming the rank
torchrun reported first and the tail of that rank's output; a ``BridgeValidationError`` a rank raised
(a bad ``resumeFrom``, a loss that is not finite) is raised again here as itself. When the run
succeeds, the trained weights are loaded into the worker's model.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from typing import Any

import torch

from bridge.errors import BridgeValidationError
from bridge.jobs import Cancelled, JobContext
from data.dataset import DatasetSpec, read_csv
from model.checkpoints import save_atomic
from model.precision import check_precision
from model.recognizer import Recognizer
from model.store import load_state
from training.fit import training_classes

GRACE_S = 3.0  # SIGTERM, then SIGKILL
POLL_S = 0.1
PY_BRIDGE = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class RankFailed(RuntimeError):
    """A rank of a distributed fit died or raised; the message names it and ends with its last output."""


class RendezvousFailed(RuntimeError):
    """torchrun's rendezvous did not complete in time: the endpoint unreachable, or nodes missing."""


def available_cores() -> int:
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def resolve(dist: dict[str, Any], device: torch.device) -> tuple[int, str]:
    """The process count and backend of a resolved ``distributed`` option (nulls: decided by the device).

    Raises:
        BridgeValidationError: nccl without GPUs, more processes than GPUs (or cores on the CPU).
    """
    on_gpu = device.type == "cuda"
    backend = dist["backend"] if dist["backend"] is not None else ("nccl" if on_gpu else "gloo")
    if backend == "nccl" and not on_gpu:
        raise BridgeValidationError(
            f"backend 'nccl' needs GPUs, but the worker runs on {device}: use backend 'gloo' "
            "(the default on the CPU), or start Recognite with a CUDA device",
            path="distributed.backend",
        )
    if dist["syncBatchNorm"] and not on_gpu:
        raise BridgeValidationError(
            "syncBatchNorm needs GPUs (torch's SyncBatchNorm has no CPU implementation): leave it off on the CPU",
            path="distributed.syncBatchNorm",
        )
    limit = torch.cuda.device_count() if on_gpu else available_cores()
    what = "GPUs" if on_gpu else "cores"
    processes = int(dist["processes"]) if dist["processes"] is not None else (limit if on_gpu else 1)
    if processes < 1 or processes > limit:
        raise BridgeValidationError(
            f"processes must be between 1 and the {limit} {what} of this machine, got {processes}",
            path="distributed.processes",
        )
    return processes, backend


def torchrun_command(processes: int, dist: dict[str, Any], spec_path: str, python: str = sys.executable) -> list[str]:
    """The torchrun command line a node runs (the worker's Python; the rank module by name)."""
    nodes = int(dist["nodes"])
    timeout = int(dist["timeoutSeconds"])
    command = [python, "-m", "torch.distributed.run", f"--nproc-per-node={processes}"]
    if nodes == 1 and dist["rendezvous"] is None:
        command.append("--standalone")  # c10d on a free local port
    else:
        command += [
            f"--nnodes={nodes}",
            f"--node-rank={int(dist['nodeRank'])}",
            "--rdzv-backend=c10d",
            f"--rdzv-endpoint={dist['rendezvous']}",
            "--rdzv-id=recognite-fit",
            f"--rdzv-conf=join_timeout={timeout},read_timeout={timeout},timeout={timeout}",
        ]
    command += [
        f"--max-restarts={int(dist['maxRestarts'])}",
        "--monitor-interval=0.2",
        "-m",
        "training.distributed.rank",
        spec_path,
    ]
    return command


def _model_spec(model: Recognizer) -> dict[str, Any]:
    return {
        "modelName": model.model_name,
        "numClasses": model.classifier.out_features if model.classifier is not None else None,
        "clfBias": model.classifier is not None and model.classifier.bias is not None,
        "normalize": model.normalize,
    }


def _check_before_launch(model: Recognizer, device: torch.device, options: dict[str, Any]) -> None:
    """What a single-process fit would refuse, refused before any process starts."""
    check_precision(str(options["precision"]), device, training=True)
    training_classes(model, read_csv(DatasetSpec.from_json(options["train"], "train"), "train"))
    if options["checkpointDir"]:
        try:
            os.makedirs(options["checkpointDir"], exist_ok=True)
        except OSError as exc:
            raise BridgeValidationError(
                f"cannot use {options['checkpointDir']} as a folder: {exc}", path="checkpointDir"
            ) from None


def _tail(path: str, lines: int = 20) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return "".join(f.readlines()[-lines:]).rstrip()
    except OSError:
        return ""


def _end_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM to torchrun's whole session, SIGKILL to what is left after ``GRACE_S``."""
    for sig, wait in ((signal.SIGTERM, GRACE_S), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if proc.poll() is not None and not _group_alive(proc.pid):
                return
            time.sleep(0.05)
    proc.wait()


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class _Relay:
    """Forwards the JSON lines rank 0 appends to ``path`` as job events."""

    def __init__(self, path: str, ctx: JobContext) -> None:
        self.path, self.ctx, self.offset, self.partial = path, ctx, 0, b""

    def pump(self) -> None:
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                data = f.read()
        except FileNotFoundError:
            return
        self.offset += len(data)
        *lines, self.partial = (self.partial + data).split(b"\n")
        for line in lines:
            if line.strip():
                self.ctx.report(json.loads(line))


def _failure(log_dir: str, torchrun_log: str, code: int, dist: dict[str, Any]) -> BaseException:
    """The error a failed run raises: a rank's own validation error, or which rank died first and its output.

    A rank killed by a signal leaves no error file and no ``done`` line; the ranks it left behind fail
    next (their collectives lose a peer) and do leave error files, so the dead rank is named first.
    """
    errors: dict[int, dict[str, Any]] = {}
    for name in os.listdir(log_dir):
        found = re.fullmatch(r"error-rank(\d+)\.json", name)
        if found:
            with open(os.path.join(log_dir, name), encoding="utf-8") as f:
                errors[int(found.group(1))] = json.load(f)
    for error in errors.values():
        if error["type"] == "BridgeValidationError":
            return BridgeValidationError(error["message"], path=error["path"])
    torchrun = _tail(torchrun_log, 200)
    started = sorted(
        int(found.group(1)) for name in os.listdir(log_dir) if (found := re.fullmatch(r"rank(\d+)\.log", name))
    )
    vanished = [r for r in started if r not in errors and "done" not in _tail(os.path.join(log_dir, f"rank{r}.log"), 1)]
    if vanished:
        # torchrun's failure entries: the ranks it ended itself (SIGTERM) are not the cause
        causes = {
            int(m.group(1)): m.group(2).strip()
            for m in re.finditer(r"rank\s*:\s*(\d+)\b.*?traceback\s*:\s*([^\n]+)", torchrun, re.DOTALL)
        }
        rank = next((r for r in vanished if "SIGTERM" not in causes.get(r, "SIGTERM")), vanished[0])
        why = causes.get(rank, "it exited without a Python error")
        output = _tail(os.path.join(log_dir, f"rank{rank}.log"))
        return RankFailed(f"rank {rank} failed ({why}); its last output:\n{output or '(none)'}")
    if errors:
        rank = min(errors)
        error = errors[rank]
        return RankFailed(f"rank {rank} failed: {error['type']}: {error['message']}\n{error['traceback']}")
    if re.search(r"Rendezvous\w*(Timeout|Connection|Closed)Error", torchrun):
        where = dist["rendezvous"] if dist["rendezvous"] is not None else "a local port"
        return RendezvousFailed(
            f"the rendezvous at {where} did not complete within {dist['timeoutSeconds']} s "
            f"(not reachable from here, or not all {dist['nodes']} nodes joined); torchrun said:\n"
            + "\n".join(line for line in torchrun.splitlines() if line and not line.startswith(" "))[-2000:]
        )
    return RankFailed(
        f"torchrun exited with code {code} before naming a rank; its last output:\n{_tail(torchrun_log, 30)}"
    )


def fit_distributed(
    model: Recognizer, device: torch.device, options: dict[str, Any], ctx: JobContext
) -> dict[str, Any]:
    """Run the resolved FitOptions ``options`` on ``options['distributed']`` processes; progress through ``ctx``."""
    started = time.monotonic()
    dist = options["distributed"]
    processes, backend = resolve(dist, device)
    _check_before_launch(model, device, options)
    work = tempfile.mkdtemp(prefix="recognite-ddp-")
    log_dir = dist["logDir"] if dist["logDir"] is not None else os.path.join(work, "logs")
    os.makedirs(log_dir, exist_ok=True)
    for name in os.listdir(log_dir):  # a previous run's logs would mix with this one's
        if name.startswith(("rank", "error-rank", "samples-rank")):
            os.unlink(os.path.join(log_dir, name))
    try:
        initial = os.path.join(work, "initial.pt")
        save_atomic(model.state_dict(), initial)  # on the CPU: every rank maps it to its own device
        spec: dict[str, Any] = {
            "options": options,
            "model": _model_spec(model),
            "initial": initial,
            "final": os.path.join(work, "final.pt"),
            "result": os.path.join(work, "result.json"),
            "events": os.path.join(work, "events.jsonl"),
            "logDir": log_dir,
            "device": device.type,
            "backend": backend,
            "workerPid": os.getpid(),
        }
        spec_path = os.path.join(work, "spec.json")
        with open(spec_path, "w", encoding="utf-8") as f:
            json.dump(spec, f)
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([PY_BRIDGE, *filter(None, [os.environ.get("PYTHONPATH")])]),
            # torchrun sets 1 thread per rank otherwise: on the CPU, share the cores out
            "OMP_NUM_THREADS": str(max(1, torch.get_num_threads() // processes)),
        }
        torchrun_log = os.path.join(log_dir, "torchrun.log")
        relay = _Relay(spec["events"], ctx)
        with open(torchrun_log, "wb") as out:
            proc = subprocess.Popen(
                torchrun_command(processes, dist, spec_path),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,  # its own process group: ended as one
            )
            try:
                while proc.poll() is None:
                    relay.pump()
                    if ctx.cancelled:
                        _end_group(proc)
                        raise Cancelled()
                    time.sleep(POLL_S)
            except BaseException:
                _end_group(proc)
                raise
            _end_group(proc)  # torchrun is gone; no rank or loader process outlives it
        relay.pump()
        if proc.returncode != 0:
            raise _failure(log_dir, torchrun_log, proc.returncode, dist)
        with open(spec["result"], encoding="utf-8") as f:
            result = json.load(f)
        load_state(
            model, torch.load(spec["final"], map_location="cpu", weights_only=True), "the ranks' weights", "distributed"
        )
        return {**result, "seconds": time.monotonic() - started}
    finally:
        shutil.rmtree(work, ignore_errors=True)
