"""Writing the .onnx file and its sidecar atomically: temporary files beside the targets, then renames.

A failed or refused export leaves no file behind, and whatever the target paths held before stays
whole. Temporary names are ``.<name>.<pid>.<random>.tmp`` (as model/checkpoints.py names them), so
those a killed worker left beside the same target are removed by the next export.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from typing import Any

from bridge.errors import BridgeValidationError
from model.checkpoints import open_temporary_beside  # one naming and clean-up rule for temporaries


def sidecar_path(path: str) -> str:
    """Where the sidecar of ``path`` goes: ``<path>.json``."""
    return f"{path}.json"


def check_target(path: str) -> None:
    """Refuse a target that is a folder, or whose folder does not exist."""
    if os.path.isdir(path):
        raise BridgeValidationError(f"{path} is a folder: give the path of the .onnx file to write", path="path")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise BridgeValidationError(f"folder {folder} does not exist", path="path")


def temporary_beside(path: str) -> str:
    """A new, empty temporary file in ``path``'s folder, named as checkpoints name theirs."""
    fd, tmp = open_temporary_beside(path)
    os.close(fd)
    return tmp


def _umask() -> int:
    """The process's umask, read without setting it (``os.umask`` would change it for every thread)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    return 0o022


def publish(tmp: str, path: str) -> None:
    """Give ``tmp`` an ordinary file's permissions (mkstemp makes it 0600), flush it and rename it to ``path``."""
    os.chmod(tmp, 0o666 & ~_umask())
    fd = os.open(tmp, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def write_json(path: str, value: dict[str, Any]) -> None:
    """Write ``value`` as indented JSON, fsync'd."""
    with open(path, "w", encoding="utf-8") as f:
        json.dump(value, f, indent=2, allow_nan=False)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())


def sha256_of(path: str) -> str:
    """SHA-256 hex digest of the file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def remove_quietly(*paths: str) -> None:
    """Delete the files that exist among ``paths``."""
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
