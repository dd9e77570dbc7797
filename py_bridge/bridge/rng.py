"""Random streams of their own for jobs that share one process and torch's global generators.

Dropout and stochastic depth draw from torch's global generator (CPU, or the CUDA device's), and
torch offers no per-module generator. Two fits running as jobs in the one worker would move each
other's draws. So each fit keeps its own state of those generators (``JobStream``) and swaps it in,
under ``LOCK``, only for the spans that draw (the training forward pass); every other place in the
worker that draws from the global generators (a model's random initialisation, a forward pass in
training mode) holds ``LOCK`` too. The loaders never draw from them (training/loader.py).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import torch

# Held while torch's global generators are set to, or drawn from for, one job or call.
LOCK = threading.RLock()


class JobStream:
    """One job's state of the global generators of the CPU and, on a GPU, of its device."""

    def __init__(self, device: torch.device) -> None:
        """Seeded with 0 until ``reseed``."""
        self.device = device if device.type == "cuda" else None
        self.cpu = torch.Generator().get_state()
        self.cuda: torch.Tensor | None = None
        self.reseed(0)

    def reseed(self, seed: int) -> None:
        """The state ``torch.manual_seed(seed)`` would give, without touching the global generators."""
        self.cpu = torch.Generator().manual_seed(seed).get_state()
        if self.device is not None:
            self.cuda = torch.Generator(device=self.device).manual_seed(seed).get_state()

    @contextmanager
    def active(self) -> Iterator[None]:
        """Run the block with this stream as torch's global generators; the others' states are kept."""
        with LOCK:
            saved_cpu = torch.get_rng_state()
            saved_cuda = torch.cuda.get_rng_state(self.device) if self.device is not None else None
            torch.set_rng_state(self.cpu)
            if self.device is not None and self.cuda is not None:
                torch.cuda.set_rng_state(self.cuda, self.device)
            try:
                yield
            finally:
                self.cpu = torch.get_rng_state()
                torch.set_rng_state(saved_cpu)
                if self.device is not None and saved_cuda is not None:
                    self.cuda = torch.cuda.get_rng_state(self.device)
                    torch.cuda.set_rng_state(saved_cuda, self.device)
