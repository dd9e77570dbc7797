"""Atomic writes of torch checkpoints: a temporary file in the same folder, then a rename.

A crash or a full disk mid-write leaves the previous file whole, never half of a new one.
Used for model state dicts (``saveStateDict``) and training checkpoints alike.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

import torch


def save_atomic(obj: Any, path: str) -> None:
    """``torch.save(obj)`` to ``path`` atomically (fsync'd before the rename)."""
    fd, tmp = tempfile.mkstemp(prefix=".recognite-", suffix=".tmp", dir=os.path.dirname(os.path.abspath(path)))
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
