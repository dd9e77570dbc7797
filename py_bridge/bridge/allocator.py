"""First-fit allocator over one shared-memory segment.

Each side of the bridge owns the segments it writes into and hands out regions of
them with this allocator, so two writers never share a region. The TypeScript twin
lives in src/sdk/allocator.ts; both follow the same rules (64-byte alignment,
neighbouring free blocks merged on release).
"""

from __future__ import annotations

ALIGNMENT = 64


def align_up(n: int, alignment: int = ALIGNMENT) -> int:
    """Round ``n`` up to a multiple of ``alignment``."""
    return (n + alignment - 1) // alignment * alignment


class FirstFitAllocator:
    """Hands out aligned, non-overlapping ``(offset, size)`` regions of ``capacity`` bytes."""

    def __init__(self, capacity: int) -> None:
        """Start with the whole capacity free."""
        self.capacity = capacity
        self._free: list[tuple[int, int]] = [(0, capacity)] if capacity > 0 else []
        self._used: dict[int, int] = {}

    @property
    def used_bytes(self) -> int:
        """Bytes currently handed out (after alignment)."""
        return sum(self._used.values())

    def free_blocks(self) -> list[tuple[int, int]]:
        """The free ``(offset, size)`` blocks, in order."""
        return list(self._free)

    def allocate(self, nbytes: int) -> int | None:
        """Return the offset of a new region of at least ``nbytes``, or None when none fits."""
        size = max(align_up(nbytes), ALIGNMENT)
        for i, (start, length) in enumerate(self._free):
            if length >= size:
                if length == size:
                    del self._free[i]
                else:
                    self._free[i] = (start + size, length - size)
                self._used[start] = size
                return start
        return None

    def release(self, offset: int) -> None:
        """Give a region back; raises KeyError for an offset that was not allocated."""
        size = self._used.pop(offset)
        self._free.append((offset, size))
        self._free.sort()
        merged: list[tuple[int, int]] = []
        for start, length in self._free:
            if merged and merged[-1][0] + merged[-1][1] == start:
                merged[-1] = (merged[-1][0], merged[-1][1] + length)
            else:
                merged.append((start, length))
        self._free = merged
