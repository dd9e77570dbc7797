"""What ``boot`` set up: one per worker process, read by every handler."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # torch and numpy are imported by boot, not by the worker module
    import torch

    from bridge.shm import SharedMemory


class WorkerState:
    """The booted worker: its shared memory, device, and whether the test-only handlers are on."""

    def __init__(self) -> None:
        """Not booted yet."""
        self._shm: SharedMemory | None = None
        self._device: torch.device | None = None
        self.test_handlers = False

    @property
    def booted(self) -> bool:
        """Whether ``boot`` has mapped the shared memory (and not ``shutdown`` since)."""
        return self._shm is not None

    @property
    def shm(self) -> SharedMemory:
        """The shared-memory arena; only handlers of a booted worker run, so it is there."""
        if self._shm is None:
            raise RuntimeError("the worker has not been booted")
        return self._shm

    @shm.setter
    def shm(self, value: SharedMemory | None) -> None:
        self._shm = value

    @property
    def device(self) -> torch.device:
        """The device models live on."""
        if self._device is None:
            raise RuntimeError("the worker has not been booted")
        return self._device

    @device.setter
    def device(self, value: torch.device | None) -> None:
        self._device = value


STATE = WorkerState()
