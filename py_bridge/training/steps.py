"""One epoch of training steps, and its batch events, without a device synchronisation per step.

``loss.item()`` makes the host wait until the GPU has finished the step, so it could not queue the
next one meanwhile. The epoch's loss is summed on the device instead, and on CUDA a batch event
(which needs its step's loss as a number: the one synchronisation) goes out at most every
``REPORT_INTERVAL_S`` and after each epoch's last step. On the CPU the work is synchronous anyway,
so every step reports, as before. A batch event means the same either way: its step's loss, the
rate so far in the epoch, and the time left.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from contextlib import nullcontext
from dataclasses import dataclass

import torch

from bridge.errors import BridgeValidationError
from bridge.jobs import JobContext
from bridge.rng import JobStream
from model.layout import channels_last, to_device, wants_channels_last
from model.precision import autocast
from model.recognizer import Recognizer
from training.loss import cosface_loss

REPORT_INTERVAL_S = 0.5


@dataclass(frozen=True)
class StepSetup:
    """What every step of a fit shares."""

    optimizer: torch.optim.Optimizer
    scaler: torch.amp.GradScaler | None  # fp16 only: scales the loss so small gradients survive
    device: torch.device
    precision: str
    logit_scale: float
    margin: float
    rng: JobStream | None = None  # this fit's dropout stream (bridge/rng.py); None: the global generators


def syncs_cost(device: torch.device) -> bool:
    """Whether reading a number back from ``device`` stalls it: CUDA runs asynchronously, the CPU does not."""
    return device.type == "cuda"


def non_finite(value: float, epoch: int, step: int, precision: str) -> BridgeValidationError:
    """The error that stops a fit whose loss is no longer a finite number."""
    fix = "lower lr or logitScale" + (", or train with precision 'bf16' or 'fp32'" if precision == "fp16" else "")
    return BridgeValidationError(
        f"the loss became {value} (not finite) at epoch {epoch}, step {step}: {fix}", path="lr"
    )


def train_step(model: Recognizer, x: torch.Tensor, y: torch.Tensor, setup: StepSetup, nhwc: bool) -> torch.Tensor:
    """One optimisation step; returns the step's loss, still on the device."""
    x, y = to_device(x, setup.device, nhwc), y.to(setup.device, non_blocking=True)
    with autocast(setup.device, setup.precision), setup.rng.active() if setup.rng else nullcontext():
        logits = model(x)  # float32: the recognizer computes its cosine logits outside autocast
    loss = cosface_loss(logits, y, setup.logit_scale, setup.margin)
    setup.optimizer.zero_grad(set_to_none=True)
    if setup.scaler is None:
        loss.backward()
        setup.optimizer.step()
    else:
        setup.scaler.scale(loss).backward()
        setup.scaler.step(setup.optimizer)  # skipped when the scaled gradients overflowed
        setup.scaler.update()
    return loss.detach()


def train_epoch(
    model: Recognizer,
    loader: Iterable[tuple[torch.Tensor, torch.Tensor]],
    setup: StepSetup,
    ctx: JobContext,
    epoch: int,
    epochs: int,
    steps: int,
) -> float:
    """Run epoch ``epoch`` (0-based) over ``loader``, reporting batch events; returns its mean loss.

    Raises:
        BridgeValidationError: When the loss is not finite (checked at every event and over the epoch).
    """
    model.train()
    start, seen, step = time.monotonic(), 0, 0
    total = torch.zeros((), dtype=torch.float64, device=setup.device)  # Σ loss × batch size, as float64 on the host was
    last_report = -math.inf
    with channels_last(model, wants_channels_last(model.model_name, setup.device)) as nhwc:
        for step, (x, y) in enumerate(loader, start=1):
            ctx.check_cancelled()  # stop between batches: the model holds whole steps only
            loss = train_step(model, x, y, setup, nhwc)
            seen += len(y)
            total += loss.double() * len(y)
            if syncs_cost(setup.device) and step < steps and time.monotonic() - last_report < REPORT_INTERVAL_S:
                continue
            loss_value = loss.item()
            if not math.isfinite(loss_value):
                raise non_finite(loss_value, epoch + 1, step, setup.precision)
            last_report = time.monotonic()
            elapsed = last_report - start
            ctx.report(
                {
                    "type": "batch",
                    "epoch": epoch + 1,
                    "epochs": epochs,
                    "step": step,
                    "steps": steps,
                    "loss": loss_value,
                    "samplesPerSec": seen / elapsed if elapsed > 0 else 0.0,
                    "etaSeconds": (steps - step) * (elapsed / step) + (epochs - epoch - 1) * (elapsed / step) * steps,
                }
            )
    mean = total.item() / max(seen, 1)
    if not math.isfinite(mean):
        raise non_finite(mean, epoch + 1, step, setup.precision)
    return mean
