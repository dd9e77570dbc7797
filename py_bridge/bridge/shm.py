"""The shared-memory data plane, Python side.

Tensors never travel through the JSON control channel. TypeScript writes an input
tensor into a region of one of *its* segment files (in /dev/shm, mode 0600) and sends
only a small descriptor ``{segment, offset, dtype, shape}``; this module maps that
region with numpy and wraps it with ``torch.from_numpy`` without copying. Results go
the other way through segments that Python owns (a pool that grows and shrinks,
bridge/shm_pool.py), and are released when TypeScript has read them (or has released
its zero-copy view of them). Every file of a session shares one name prefix, so
either side can remove them all at exit, whoever dies first.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import threading
from dataclasses import dataclass
from math import prod
from typing import Any

import numpy as np
import torch

from bridge.errors import BridgeValidationError, SharedMemoryFull
from bridge.shm_pool import OutputPool

DEFAULT_MAX_BYTES = 1 << 30
"""Default bound of the pooled output segments together (TypeScript sends its own at boot)."""

NUMPY_DTYPES: dict[str, Any] = {
    "float32": np.float32,
    "float64": np.float64,
    "float16": np.float16,
    "int8": np.int8,
    "uint8": np.uint8,
    "int16": np.int16,
    "uint16": np.uint16,
    "int32": np.int32,
    "int64": np.int64,
    "bool": np.bool_,
}
TORCH_TO_NAME = {torch.from_numpy(np.zeros(0, dt)).dtype: name for name, dt in NUMPY_DTYPES.items()}


@dataclass(frozen=True)
class TensorRef:
    """Where a tensor lies in shared memory; ``segment`` is a file name in the arena folder."""

    segment: str
    offset: int
    dtype: str
    shape: tuple[int, ...]
    transient: bool = False  # a segment for this one tensor, removed when it is released

    @property
    def nbytes(self) -> int:
        """Payload size in bytes."""
        return prod(self.shape) * np.dtype(NUMPY_DTYPES[self.dtype]).itemsize

    @staticmethod
    def from_json(obj: dict[str, Any]) -> TensorRef:
        """Parse and check a descriptor sent by TypeScript."""
        try:
            ref = TensorRef(
                str(obj["segment"]), int(obj["offset"]), str(obj["dtype"]), tuple(int(d) for d in obj["shape"])
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise BridgeValidationError(f"malformed tensor descriptor {obj!r}: {exc}") from None
        if ref.dtype not in NUMPY_DTYPES:
            raise BridgeValidationError(f"unsupported dtype {ref.dtype!r}; expected one of {sorted(NUMPY_DTYPES)}")
        if ref.offset < 0 or any(d < 0 for d in ref.shape):
            raise BridgeValidationError(f"negative offset or dimension in {obj!r}")
        return ref

    def to_json(self) -> dict[str, Any]:
        """The descriptor as sent back to TypeScript."""
        out = {
            "kind": "tensor",
            "segment": self.segment,
            "offset": self.offset,
            "dtype": self.dtype,
            "shape": list(self.shape),
        }
        if self.transient:
            out["transient"] = True
        return out


class _Segment:
    """One mapped segment file."""

    def __init__(self, path: str, size: int, create: bool) -> None:
        flags = os.O_RDWR | os.O_NOFOLLOW | (os.O_CREAT | os.O_EXCL if create else 0)
        self.fd = os.open(path, flags, 0o600)
        try:
            if create:
                os.ftruncate(self.fd, size)
            else:
                size = os.fstat(self.fd).st_size
            self.size = size
            self.map = mmap.mmap(self.fd, size) if size > 0 else None
        except BaseException:
            os.close(self.fd)
            raise
        self.path = path
        self.reserved = 0  # bytes from the start already backed by pages (see SharedMemory._reserve)

    def view(self, offset: int, dtype: str, shape: tuple[int, ...]) -> np.ndarray:
        """A numpy array over bytes of the mapping, no copy."""
        count = prod(shape)
        if self.map is None or offset + count * np.dtype(NUMPY_DTYPES[dtype]).itemsize > self.size:
            raise BridgeValidationError(f"region [{offset}, +{count} {dtype}] lies outside segment {self.path}")
        return np.frombuffer(self.map, dtype=NUMPY_DTYPES[dtype], count=count, offset=offset).reshape(shape)

    def punch(self, offset: int, nbytes: int) -> None:
        """Give the whole pages inside ``[offset, offset + nbytes)`` back to the tmpfs."""
        page = mmap.PAGESIZE
        start = -(-offset // page) * page
        end = min(offset + nbytes, self.size) // page * page
        if self.map is not None and end > start:
            self.map.madvise(mmap.MADV_REMOVE, start, end - start)

    def close(self, unlink: bool) -> None:
        """Unmap (when no view is alive), close, and optionally remove the file."""
        if self.map is not None:
            # BufferError: a view is still alive, and the mapping goes when it is collected
            with contextlib.suppress(BufferError):
                self.map.close()
        os.close(self.fd)
        if unlink:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path)


class SharedMemory:
    """Reads TypeScript's segments and owns Python's output segments for one session."""

    def __init__(self, directory: str, prefix: str, primary_bytes: int, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        """Create Python's primary output segment ``<prefix>-py-0`` in ``directory``.

        ``max_bytes`` bounds the pooled output segments together; past it, a result gets a segment of its own.
        """
        self.directory = directory
        self.prefix = prefix
        self._counter = 0
        self._inputs: dict[str, _Segment] = {}
        self._transient: set[str] = set()
        self._lock = threading.Lock()  # background jobs write results too
        self._pool = OutputPool(self._new_output_segment, primary_bytes, max_bytes)

    def _path(self, name: str) -> str:
        if "/" in name or not name.startswith(self.prefix + "-"):
            raise BridgeValidationError(f"segment {name!r} does not belong to this session")
        return os.path.join(self.directory, name)

    def _new_output_segment(self, size: int) -> _Segment:
        name = f"{self.prefix}-py-{self._counter}"
        self._counter += 1
        return _Segment(os.path.join(self.directory, name), size, create=True)

    # --- TypeScript -> Python -------------------------------------------------
    def read(self, ref: TensorRef, transient: bool = False) -> torch.Tensor:
        """A zero-copy tensor over an input region, valid until the call ends.

        ``transient`` marks a segment TypeScript made for this one call and removes
        afterwards: it is unmapped by ``end_call`` instead of being kept mapped.
        """
        if ref.nbytes == 0:
            return torch.from_numpy(np.empty(ref.shape, NUMPY_DTYPES[ref.dtype]))
        if transient:
            self._transient.add(ref.segment)
        seg = self._inputs.get(ref.segment)
        if seg is None or seg.size < ref.offset + ref.nbytes:
            if seg is not None:
                seg.close(unlink=False)  # the file grew: map it again
            seg = _Segment(self._path(ref.segment), 0, create=False)
            self._inputs[ref.segment] = seg
        return torch.from_numpy(seg.view(ref.offset, ref.dtype, ref.shape))

    def trim(self, ts_segment: str, free_ranges: list[list[int]]) -> None:
        """Return the pages of free regions, TypeScript's and ours, to a full tmpfs.

        A region that was written once keeps its pages after it is freed; under memory
        pressure that space is handed back, so later tensors that fit can still pass.
        """
        seg = self._inputs.get(ts_segment) or _Segment(self._path(ts_segment), 0, create=False)
        self._inputs[ts_segment] = seg
        for offset, nbytes in free_ranges:
            seg.punch(int(offset), int(nbytes))
        with self._lock:
            self._pool.punch_free()

    def forget(self, names: list[str]) -> None:
        """Unmap TypeScript segments it has removed (its idle extras), so their pages go."""
        for name in names:
            seg = self._inputs.pop(str(name), None)
            if seg is not None:
                seg.close(unlink=False)

    def shrink(self) -> list[str]:
        """Drop the extra output segments that hold no region; returns their names."""
        with self._lock:
            return self._pool.shrink()

    @property
    def pooled_output_bytes(self) -> int:
        """Size of the pooled output segments together (the resident part once written)."""
        return self._pool.pooled_bytes

    def read_json(self, obj: dict[str, Any]) -> torch.Tensor:
        """``read`` for a descriptor as TypeScript sent it (with its ``transient`` flag)."""
        return self.read(TensorRef.from_json(obj), bool(obj.get("transient", False)))

    def end_call(self) -> None:
        """Unmap the transient input segments of the call that just ended."""
        for name in self._transient:
            seg = self._inputs.pop(name, None)
            if seg is not None:
                seg.close(unlink=False)
        self._transient.clear()

    # --- Python -> TypeScript -------------------------------------------------
    def write(self, tensor: torch.Tensor) -> TensorRef:
        """Copy a tensor (any device, any strides) into a fresh output region and describe it.

        One copy straight into the segment: a GPU tensor is not staged in pageable memory first, and
        a non-contiguous one is not made contiguous first (``copy_`` reads any layout).
        """
        name = TORCH_TO_NAME.get(tensor.dtype)
        if name is None:
            raise BridgeValidationError(f"cannot send dtype {tensor.dtype} to TypeScript")
        shape = tuple(tensor.shape)
        nbytes = tensor.numel() * tensor.element_size()
        if nbytes == 0:
            return TensorRef(os.path.basename(self._pool.primary.path), 0, name, shape)
        with self._lock:
            seg, offset, transient = self._pool.allocate(nbytes)
        ref = TensorRef(os.path.basename(seg.path), offset, name, shape, transient)
        try:
            self._reserve(seg, offset, nbytes)
        except SharedMemoryFull:
            self.release([ref.to_json()])
            raise
        torch.from_numpy(seg.view(offset, name, shape)).copy_(tensor.detach())
        return ref

    @staticmethod
    def _reserve(seg: _Segment, offset: int, nbytes: int) -> None:
        # Touching an unbacked page of a full tmpfs kills the process with SIGBUS;
        # reserving first turns that into an OSError the caller gets as a message.
        # Ranges below the segment's high-water mark are backed already.
        end = offset + nbytes
        if end <= seg.reserved:
            return
        try:
            os.posix_fallocate(seg.fd, seg.reserved, end - seg.reserved)
            seg.reserved = end
        except OSError as exc:
            raise SharedMemoryFull(
                exc.errno,
                f"shared memory is full: the worker could not reserve {nbytes} bytes in {seg.path} "
                f"({os.strerror(exc.errno or 0)}); free space in that folder, or point the shmDir option / "
                "RECOGNITE_SHM_DIR at a folder with room",
            ) from None

    def release(self, refs: list[dict[str, Any]]) -> None:
        """Free output regions TypeScript has finished reading."""
        for obj in refs:
            ref = TensorRef.from_json(obj)
            if ref.nbytes == 0:
                continue
            with self._lock:
                self._pool.release(ref.segment, ref.offset)

    def close(self) -> None:
        """Unmap everything and remove every file of this session, TypeScript's included."""
        for seg in self._inputs.values():
            seg.close(unlink=False)
        self._inputs.clear()
        with self._lock:
            self._pool.close()
        remove_session_files(self.directory, self.prefix)


def remove_session_files(directory: str, prefix: str) -> None:
    """Unlink every file whose name starts with ``<prefix>-``."""
    try:
        names = os.listdir(directory)
    except OSError:
        return
    for name in names:
        if name.startswith(prefix + "-"):
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(directory, name))
