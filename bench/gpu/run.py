"""GPU throughput: the SDK's own embedding and training loops against plain PyTorch doing the same work.

    python3 bench/gpu/run.py            # resnet50 and vit_b_16, batch 256, fp32 and bf16, on cuda
    python3 bench/gpu/run.py --smoke    # resnet18, batch 2, 32 px, two steps each, on the CPU: checks the script

No Node, no package registry, nothing downloaded: random weights and one synthetic batch in host
memory (pinned on CUDA, as the SDK's loaders pin theirs), copied to the device every step as real
batches are. "SDK" runs the worker's functions themselves, called in Python: ``embed_batches``
(model/embedding.py: autocast, channels_last, one output buffer on the device) and ``train_epoch``
(training/steps.py: autocast, the recognizer's cosine classifier, no per-step synchronisation).
"plain" is the loop a PyTorch user would write: a torchvision model, autocast for bf16, an
``nn.Linear`` head and cross-entropy when training. Each measurement is time-boxed: a warm-up,
then as many steps as fit in ``--seconds`` (at least ``--min-steps``); the run stops measuring at ``--budget``.
Prints a markdown table, then one JSON line (also written to ``--json`` when given).
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F  # noqa: N812 - the usual name
from torch import nn
from torchvision import models

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "py_bridge"))

from bridge.jobs import JobContext  # noqa: E402 - after the path is set, as the worker imports it
from model.embedding import embed_batches  # noqa: E402
from model.precision import autocast, check_precision, grad_scaler  # noqa: E402
from model.recognizer import Recognizer  # noqa: E402
from training.steps import StepSetup, train_epoch  # noqa: E402

CLASSES = 1000


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def repeat(batch: torch.Tensor, n: int) -> Iterator[torch.Tensor]:
    for _ in range(n):
        yield batch


def timed(run: Callable[[int], None], device: torch.device, args: argparse.Namespace) -> dict[str, float]:
    """Warm up, time one step to size the run, then time as many steps as fit in ``args.seconds``."""
    run(args.warmup)
    steps = args.min_steps
    if args.seconds > 0:
        sync(device)
        start = time.perf_counter()
        run(1)
        sync(device)
        per_step = max(time.perf_counter() - start, 1e-6)
        steps = int(max(args.min_steps, min(args.max_steps, args.seconds / per_step)))
    start = time.perf_counter()
    run(steps)
    sync(device)
    return {"steps": steps, "seconds": time.perf_counter() - start}


# --------------------------------------------------------------------------- the SDK's loops


def sdk_embed(name: str, batch: torch.Tensor, device: torch.device, precision: str) -> Callable[[int], None]:
    model = Recognizer(name).to(device)
    check_precision(precision, device)
    ctx = JobContext()

    def run(n: int) -> None:
        embed_batches(model, device, repeat(batch, n), n * len(batch), "none", precision, ctx, progress=False).cpu()

    return run


def sdk_train(name: str, batch: torch.Tensor, device: torch.device, precision: str) -> Callable[[int], None]:
    model = Recognizer(name, num_classes=CLASSES).to(device)
    check_precision(precision, device, training=True)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    setup = StepSetup(optimizer, grad_scaler(device, precision), device, precision, 16.0, 0.0)
    labels = torch.randint(0, CLASSES, (len(batch),), generator=torch.Generator().manual_seed(0))
    labels = labels.pin_memory() if device.type == "cuda" else labels
    ctx = JobContext()

    def run(n: int) -> None:
        pairs = ((batch, labels) for _ in range(n))
        train_epoch(model, pairs, setup, ctx, 0, 1, n)
        ctx.take_events()

    return run


# --------------------------------------------------------------------------- plain PyTorch


def plain_model(name: str, device: torch.device, nhwc: bool) -> nn.Module:
    model = models.get_model(name, weights=None, num_classes=CLASSES).to(device)
    return model.to(memory_format=torch.channels_last) if nhwc else model


def plain_embed(
    name: str, batch: torch.Tensor, device: torch.device, precision: str, nhwc: bool = False
) -> Callable[[int], None]:
    model = plain_model(name, device, nhwc).eval()
    head = "heads" if name.startswith("vit_") else "fc"
    setattr(model, head, nn.Identity())
    fmt = torch.channels_last if nhwc else torch.contiguous_format

    def run(n: int) -> None:
        outs = []
        with torch.no_grad(), autocast(device, precision):
            for x in repeat(batch, n):
                outs.append(F.normalize(model(x.to(device, non_blocking=True, memory_format=fmt)).float(), dim=1))
        torch.cat(outs).cpu()

    return run


def plain_train(
    name: str, batch: torch.Tensor, device: torch.device, precision: str, nhwc: bool = False
) -> Callable[[int], None]:
    model = plain_model(name, device, nhwc).train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    scaler = grad_scaler(device, precision)
    labels = torch.randint(0, CLASSES, (len(batch),), generator=torch.Generator().manual_seed(0)).to(device)
    fmt = torch.channels_last if nhwc else torch.contiguous_format

    def run(n: int) -> None:
        for x in repeat(batch, n):
            with autocast(device, precision):
                loss = F.cross_entropy(model(x.to(device, non_blocking=True, memory_format=fmt)), labels)
            optimizer.zero_grad(set_to_none=True)
            if scaler is None:
                loss.backward()
                optimizer.step()
            else:
                scaler.scale(loss).backward()
                scaler.step(optimizer)
                scaler.update()

    return run


# --------------------------------------------------------------------------- the run


def plan(args: argparse.Namespace, device: torch.device) -> list[dict[str, Any]]:
    """Every measurement: model × task × precision × implementation (plus plain channels_last for CUDA conv nets)."""
    rows = []
    for name in args.models:
        for task in ("embed", "train"):
            for precision in args.precisions:
                impls = ["plain", "sdk"]
                if device.type == "cuda" and not name.startswith("vit_"):
                    impls.append("plain+channels_last")
                rows += [{"model": name, "task": task, "precision": precision, "impl": i} for i in impls]
    return rows


def measure(row: dict[str, Any], batch: torch.Tensor, device: torch.device, args: argparse.Namespace) -> dict[str, Any]:
    name, task, precision, impl = row["model"], row["task"], row["precision"], row["impl"]
    if impl == "sdk":
        run = (sdk_embed if task == "embed" else sdk_train)(name, batch, device, precision)
    else:
        make = plain_embed if task == "embed" else plain_train
        run = make(name, batch, device, precision, nhwc=impl.endswith("channels_last"))
    t = timed(run, device, args)
    del run
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()
    return {**row, **t, "imagesPerSec": t["steps"] * len(batch) / t["seconds"]}


def table(results: list[dict[str, Any]]) -> str:
    by = {(r["model"], r["task"], r["precision"], r["impl"]): r.get("imagesPerSec") for r in results}
    lines = [
        "| model | task | precision | SDK images/s | plain images/s | SDK / plain | plain channels_last images/s |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    seen = []
    for r in results:
        key = (r["model"], r["task"], r["precision"])
        if key in seen:
            continue
        seen.append(key)
        sdk, plain, nhwc = (by.get((*key, i)) for i in ("sdk", "plain", "plain+channels_last"))
        ratio = f"{sdk / plain:.2f}" if sdk and plain else "–"
        cells = [f"{v:.1f}" if v else "–" for v in (sdk, plain)]
        lines.append(f"| {' | '.join(key)} | {cells[0]} | {cells[1]} | {ratio} | {f'{nhwc:.1f}' if nhwc else '–'} |")
    return "\n".join(lines)


def parse(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--smoke", action="store_true", help="tiny run on the CPU (checks the script, measures nothing)")
    ap.add_argument("--device", default=None, help="default: cuda when available, else cpu (--smoke: cpu)")
    ap.add_argument("--models", nargs="+", default=["resnet50", "vit_b_16"])
    ap.add_argument("--precisions", nargs="+", default=["fp32", "bf16"], choices=["fp32", "bf16", "fp16"])
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--seconds", type=float, default=8.0, help="timed seconds per measurement")
    ap.add_argument("--warmup", type=int, default=3, help="untimed steps first (cuDNN picks its kernels)")
    ap.add_argument("--min-steps", type=int, default=3)
    ap.add_argument("--max-steps", type=int, default=60)
    ap.add_argument("--budget", type=float, default=420.0, help="stop starting measurements after this many seconds")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    ap.add_argument("--json", default=None, help="also write the JSON here")
    args = ap.parse_args(argv)
    if args.smoke:
        args.device = args.device or "cpu"
        args.models, args.batch, args.size = ["resnet18"], 2, 32
        args.seconds, args.warmup, args.min_steps, args.max_steps = 0.0, 1, 1, 1
        args.threads = args.threads or 1  # tiny ops: a second thread only waits on a busy machine
    return args


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse(argv)
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.backends.cudnn.benchmark = True  # both sides alike: fixed shapes, the fastest kernels
    started = time.perf_counter()
    batch = torch.randn(args.batch, 3, args.size, args.size, generator=torch.Generator().manual_seed(0))
    batch = batch.pin_memory() if device.type == "cuda" else batch
    results = []
    for row in plan(args, device):
        if time.perf_counter() - started > args.budget:
            results.append({**row, "skipped": f"time box of {args.budget:.0f} s reached"})
            continue
        results.append(measure(row, batch, device, args))
        print(json.dumps(results[-1]), file=sys.stderr, flush=True)
    out = {
        "device": str(device),
        "gpuName": torch.cuda.get_device_name(device) if device.type == "cuda" else None,
        "torch": torch.__version__,
        "batch": args.batch,
        "size": args.size,
        "seconds": time.perf_counter() - started,
        "results": results,
    }
    print(table(results))
    print(json.dumps(out))
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n")
    return out


if __name__ == "__main__":
    main()
