"""One rank of a distributed fit: ``python -m training.distributed.rank <spec.json>``, started by torchrun.

Every rank builds the worker's Recognizer from the spec, loads the weights the worker had, wraps it
in DDP (gradients averaged over ranks after every step: one global batch is N × batchSize images)
and trains on its shard of each epoch (sampler.py). Rank 0 alone validates, writes the checkpoint
(the format of a single-process fit: training/fit.py) and the progress events; the local rank 0 of
every node writes the final weights and the result for its worker. A rank's output goes to
``rank<r>.log`` in the log folder, the rows it trained on to ``samples-rank<r>.jsonl`` (one line an
epoch), and an exception to ``error-rank<r>.json`` before it exits non-zero. After a torchrun restart
(``maxRestarts``), the ranks resume from ``checkpointDir/last.pt`` when it is there.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any, cast

import torch
import torch.distributed as tdist
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader

from bridge.errors import BridgeValidationError
from bridge.jobs import JobContext
from bridge.rng import JobStream
from data.dataset import DatasetSpec, ImageDataset, loader_options, read_csv, sorted_labels
from data.transforms import train_transform
from data.workers import watch_worker
from model.checkpoints import save_atomic
from model.precision import grad_scaler
from model.recognizer import Recognizer
from training.distributed.sampler import ShardSampler
from training.fit import resume, save_checkpoint, validation_metrics
from training.steps import StepSetup, train_epoch

# models whose auxiliary heads get no gradient in recognite's forward
_UNUSED_PARAMETERS = {"googlenet", "inception_v3"}


class RankContext(JobContext):
    """A JobContext whose events go to a file (rank 0 of a node) or nowhere; cancelling is torchrun's signal."""

    def __init__(self, events: str | None, world: int) -> None:
        """Events to the file ``events`` (None: dropped), batch rates scaled to the ``world`` ranks."""
        super().__init__()
        self.events, self.world = events, world

    def report(self, event: dict[str, Any]) -> None:
        """Append ``event`` as a JSON line, for the worker to relay."""
        if self.events is None:
            return
        if event["type"] == "batch":  # every rank trains as fast: the group's rate is N times one rank's
            event = {**event, "samplesPerSec": event["samplesPerSec"] * self.world}
        with open(self.events, "a", encoding="utf-8") as f:
            f.write(json.dumps(event) + "\n")


class _Ddp(DistributedDataParallel):
    """DDP that still answers what train_epoch asks of a Recognizer."""

    @property
    def model_name(self) -> str:
        return cast(Recognizer, self.module).model_name


@contextmanager
def _logged(log_dir: str, rank: int) -> Iterator[None]:
    """Send this rank's stdout and stderr to ``rank<r>.log``."""
    with open(os.path.join(log_dir, f"rank{rank}.log"), "ab", buffering=0) as log:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        yield


def _attempt_store(rank: int, world: int, timeout: timedelta) -> tdist.Store:
    """The store torchrun's agent exports, under a prefix of its own for each attempt.

    After a restart (``maxRestarts``) the agent's store still holds what the previous attempt's ranks
    wrote, their gloo addresses among it: a new rank that read a dead rank's address before its peer
    overwrote it failed with "connection refused" (seen under load). The prefix keeps attempts apart.
    """
    host, port = os.environ["MASTER_ADDR"], int(os.environ["MASTER_PORT"])
    agent_hosts = os.environ.get("TORCHELASTIC_USE_AGENT_STORE") == "True"  # else rank 0 serves it, as torch does
    store = tdist.TCPStore(
        host, port, world, is_master=not agent_hosts and rank == 0, timeout=timeout, multi_tenant=not agent_hosts
    )
    return tdist.PrefixStore(f"recognite/attempt-{os.environ.get('TORCHELASTIC_RESTART_COUNT', '0')}", store)


def run(spec: dict[str, Any], rank: int, local_rank: int, world: int) -> None:
    """Train this rank's part; rank 0 checkpoints and reports, each node's local rank 0 writes the result."""
    options = spec["options"]
    dist = options["distributed"]
    device = torch.device(f"cuda:{local_rank}" if spec["device"] == "cuda" else "cpu")
    if device.type == "cuda":
        torch.cuda.set_device(device)
    timeout = timedelta(seconds=max(int(dist["timeoutSeconds"]), 60))
    store = _attempt_store(rank, world, timeout)
    tdist.init_process_group(spec["backend"], store=store, rank=rank, world_size=world, timeout=timeout)
    try:
        _train(spec, options, dist, device, rank, local_rank, world)
    finally:
        tdist.destroy_process_group()


def _train(
    spec: dict[str, Any],
    options: dict[str, Any],
    dist: dict[str, Any],
    device: torch.device,
    rank: int,
    local_rank: int,
    world: int,
) -> None:
    epochs, batch_size, size = int(options["epochs"]), int(options["batchSize"]), int(options["size"])
    seed, workers, precision = int(options["seed"]), int(options["numWorkers"]), str(options["precision"])
    frame = read_csv(DatasetSpec.from_json(options["train"], "train"), "train")
    classes = sorted_labels(frame)
    train_set = ImageDataset(frame, train_transform(size, bool(options["hflip"])), classes)
    validation = None
    if options["validation"] is not None and rank == 0:
        validation = (
            read_csv(
                DatasetSpec.from_json(options["validation"]["gallery"], "validation.gallery"), "validation.gallery"
            ),
            read_csv(DatasetSpec.from_json(options["validation"]["query"], "validation.query"), "validation.query"),
        )
    embed_options = {
        "size": size,
        "batchSize": batch_size,
        "numWorkers": workers,
        "tta": "none",
        "precision": precision,
    }

    m = spec["model"]
    module = Recognizer(m["modelName"], num_classes=m["numClasses"], clf_bias=m["clfBias"], normalize=m["normalize"])
    module.load_state_dict(torch.load(spec["initial"], map_location="cpu", weights_only=True))
    module.to(device)
    if dist["syncBatchNorm"]:
        module = cast(Recognizer, torch.nn.SyncBatchNorm.convert_sync_batchnorm(module))
    optimizer = torch.optim.SGD(
        module.parameters(),
        lr=float(options["lr"]),
        momentum=float(options["momentum"]),
        weight_decay=float(options["weightDecay"]),
    )
    stream = JobStream(device)
    setup = StepSetup(
        optimizer,
        grad_scaler(device, precision),
        device,
        precision,
        float(options["logitScale"]),
        float(options["margin"]),
        stream,
    )
    history: list[dict[str, Any]] = []
    first_epoch = 0
    checkpoint_dir = options["checkpointDir"]
    restarted = int(os.environ.get("TORCHELASTIC_RESTART_COUNT", "0")) > 0
    last = os.path.join(checkpoint_dir, "last.pt") if checkpoint_dir else None
    if restarted and last is not None and os.path.exists(last):
        first_epoch, history = resume(module, optimizer, setup.scaler, last)
    elif options["resumeFrom"] is not None:
        first_epoch, history = resume(module, optimizer, setup.scaler, options["resumeFrom"])
    model = _Ddp(
        module,
        device_ids=[device.index] if device.type == "cuda" else None,
        find_unused_parameters=m["modelName"] in _UNUSED_PARAMETERS,
    )

    sampler = ShardSampler(len(train_set), rank, world, seed)
    drop_last = len(sampler) > batch_size  # a last batch of one would break BatchNorm
    steps = len(sampler) // batch_size if drop_last else 1
    loader = DataLoader(
        train_set,
        batch_size=batch_size,
        sampler=sampler,
        drop_last=drop_last,
        persistent_workers=workers > 0,
        **loader_options(workers, device),
    )
    ctx = RankContext(spec["events"] if rank == 0 else None, world)
    samples_log = os.path.join(spec["logDir"], f"samples-rank{rank}.jsonl")
    for epoch in range(first_epoch, epochs):
        sampler.set_epoch(epoch)
        with open(samples_log, "a", encoding="utf-8") as f:
            f.write(json.dumps({"epoch": epoch + 1, "rows": sampler.rows()}) + "\n")
        stream.reseed(seed + epoch + 1_000_003 * rank)  # dropout differs per rank, as per sample
        epoch_start = time.monotonic()
        loss = train_epoch(cast(Recognizer, model), iter(loader), setup, ctx, epoch, epochs, steps)
        mean = torch.tensor([loss], dtype=torch.float64, device=device)
        tdist.all_reduce(mean)  # the epoch's loss over every rank's shard
        record: dict[str, Any] = {
            "epoch": epoch + 1,
            "loss": float(mean.item()) / world,
            "seconds": time.monotonic() - epoch_start,
        }
        if rank == 0:
            if validation:
                record.update(validation_metrics(module, device, validation, embed_options, ctx))
                record["chanceTop1"] = 1.0 / validation[0]["label"].nunique()
            history.append(record)
            if checkpoint_dir:
                progress = (epoch + 1, history, classes)
                save_checkpoint(checkpoint_dir, module, optimizer, setup.scaler, progress, options)
            ctx.report({"type": "epoch", **record, "epochs": epochs})
        else:
            history.append(record)
        tdist.barrier()  # the others wait for rank 0's validation and checkpoint
    if local_rank == 0:
        save_atomic(module.state_dict(), spec["final"])
        with open(spec["result"], "w", encoding="utf-8") as f:
            json.dump({"history": history, "classes": classes}, f)


def main() -> None:
    """Read the spec, log to the log folder, train; on an exception, leave it in ``error-rank<r>.json``."""
    with open(sys.argv[1], encoding="utf-8") as f:
        spec = json.load(f)
    rank, local_rank = int(os.environ["RANK"]), int(os.environ["LOCAL_RANK"])
    world = int(os.environ["WORLD_SIZE"])
    watch_worker(int(spec["workerPid"]), 0)  # the ranks end soon after a killed worker
    error_file = os.path.join(spec["logDir"], f"error-rank{rank}.json")
    with contextlib.suppress(FileNotFoundError):  # a previous attempt's: a failure must name this one's
        os.unlink(error_file)
    with _logged(spec["logDir"], rank):
        print(f"rank {rank} of {world} (local rank {local_rank}), pid {os.getpid()}", flush=True)
        try:
            run(spec, rank, local_rank, world)
            print(f"rank {rank} done", flush=True)
        except BaseException as exc:
            error = {
                "type": type(exc).__name__,
                "message": str(exc),
                "path": exc.path if isinstance(exc, BridgeValidationError) else "",
                "traceback": "".join(traceback.format_exception(exc)),
            }
            with open(error_file, "w", encoding="utf-8") as f:
                json.dump(error, f)
            traceback.print_exc()
            sys.exit(1)


if __name__ == "__main__":
    main()
