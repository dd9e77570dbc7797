"""Python's output segments: a pool that grows with the work and shrinks back when idle.

Results are written into regions of pooled segments (the primary one, made at boot, plus
extra ones made when a result does not fit), so a loop over big tensors reuses the same
pages call after call instead of creating, faulting in and deleting a segment per call.
The pool is bounded (``max_bytes`` in all); a result that would pass the bound gets a
segment of its own, removed when TypeScript releases it. Extra segments that hold no
region are dropped by ``shrink`` (TypeScript asks for it after a quiet spell) and before
a new one is made, so resident shared memory follows the recent work.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bridge.allocator import FirstFitAllocator, align_up

if TYPE_CHECKING:
    from collections.abc import Callable

    from bridge.shm import _Segment


@dataclass
class _Pooled:
    seg: _Segment
    alloc: FirstFitAllocator
    name: str = field(init=False)

    def __post_init__(self) -> None:
        self.name = os.path.basename(self.seg.path)


class OutputPool:
    """Regions of Python's output segments; not thread-safe (SharedMemory holds the lock)."""

    def __init__(self, make_segment: Callable[[int], _Segment], primary_bytes: int, max_bytes: int) -> None:
        """Make the primary segment; extras grow in steps of ``primary_bytes`` up to ``max_bytes`` in all."""
        self._make = make_segment
        self.max_bytes = max(max_bytes, primary_bytes)
        self._step = max(primary_bytes, 1 << 20)
        self.pooled: list[_Pooled] = [_Pooled(make_segment(primary_bytes), FirstFitAllocator(primary_bytes))]
        self.transient: dict[str, _Segment] = {}

    @property
    def primary(self) -> _Segment:
        """The segment made at boot, never dropped."""
        return self.pooled[0].seg

    @property
    def pooled_bytes(self) -> int:
        """Size of every pooled segment together: what stays resident once written."""
        return sum(p.seg.size for p in self.pooled)

    def allocate(self, nbytes: int) -> tuple[_Segment, int, bool]:
        """A region of ``nbytes``: ``(segment, offset, transient)``."""
        for p in self.pooled:
            offset = p.alloc.allocate(nbytes)
            if offset is not None:
                return p.seg, offset, False
        self.shrink()  # empty extras are the wrong size: make room for one that fits
        size = -(-align_up(nbytes) // self._step) * self._step
        if self.pooled_bytes + size <= self.max_bytes:
            p = _Pooled(self._make(size), FirstFitAllocator(size))
            self.pooled.append(p)
            offset = p.alloc.allocate(nbytes)
            assert offset == 0  # a new segment has room for what it was sized for
            return p.seg, offset, False
        seg = self._make(nbytes)  # past the bound: a segment for this result alone
        self.transient[os.path.basename(seg.path)] = seg
        return seg, 0, True

    def release(self, segment: str, offset: int) -> None:
        """Free a region; a transient segment is removed with it."""
        seg = self.transient.pop(segment, None)
        if seg is not None:
            seg.close(unlink=True)
            return
        for p in self.pooled:
            if p.name == segment:
                p.alloc.release(offset)
                return

    def shrink(self) -> list[str]:
        """Drop the extra segments that hold no region; returns their names."""
        keep, dropped = self.pooled[:1], []
        for p in self.pooled[1:]:
            if p.alloc.used_bytes == 0:
                p.seg.close(unlink=True)
                dropped.append(p.name)
            else:
                keep.append(p)
        self.pooled = keep
        return dropped

    def punch_free(self) -> None:
        """Give the pages of every free region back to the tmpfs (after a 'full' error)."""
        self.shrink()
        for p in self.pooled:
            for offset, nbytes in p.alloc.free_blocks():
                p.seg.punch(offset, nbytes)
            p.seg.reserved = 0  # punched pages must be reserved again before use

    def close(self) -> None:
        """Unmap and close every segment (files are removed by the caller)."""
        for seg in [*(p.seg for p in self.pooled), *self.transient.values()]:
            seg.close(unlink=False)
        self.transient.clear()
