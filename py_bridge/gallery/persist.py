"""Saving a gallery to a folder and loading it back, atomically and with every file checked.

Layout of a gallery folder::

    gallery.json            the manifest: format, metric, backend, labels, threshold, model, files
    data-<token>/           embeddings.npy (float32, rows × dim), index.faiss (FAISS backends)

A save writes a new ``data-<token>`` folder, then replaces ``gallery.json`` with one rename, then
deletes the old data: a crash at any point leaves a manifest that names complete files (the
previous gallery until the rename, the new one after). Every file's SHA-256 is in the manifest,
so a damaged or swapped file is refused on load with its name.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import secrets
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch

from bridge.errors import BridgeValidationError
from evaluation.scoring import METRICS
from gallery.gallery import Gallery
from gallery.search import FaissSearch

FORMAT = "recognite-gallery"
VERSION = 1
MANIFEST = "gallery.json"
CONFIG_KEYS = ("metric", "backend", "index", "nprobe", "efSearch", "averageReferences", "dim")


def save(gallery: Gallery, folder: str, fingerprint: str | None) -> dict[str, Any]:
    """Write ``gallery`` into ``folder`` (created if missing); returns the manifest written."""
    root = Path(folder)
    if root.exists() and not root.is_dir():
        raise BridgeValidationError(f"{root} exists and is not a folder", path="dir")
    if root.is_dir() and any(root.iterdir()) and not (root / MANIFEST).is_file():
        raise BridgeValidationError(
            f"{root} is not empty and holds no gallery ({MANIFEST}): choose an empty or new folder", path="dir"
        )
    token = secrets.token_hex(6)
    staging = root / f".data-{token}.tmp"
    try:
        root.mkdir(parents=True, exist_ok=True)
        staging.mkdir()
    except OSError as exc:
        raise BridgeValidationError(f"cannot save a gallery in {root}: {exc.strerror}", path="dir") from None
    files = {"embeddings": _write(staging / "embeddings.npy", _npy_bytes(gallery.rows.vectors))}
    if isinstance(gallery.search, FaissSearch) and gallery.search.is_trained:
        gallery.refresh()
        files["index"] = _write(staging / "index.faiss", gallery.search.to_bytes().tobytes())
    data = f"data-{token}"
    os.rename(staging, root / data)
    _fsync_dir(root)
    model = dict(gallery.model, fingerprint=fingerprint) if gallery.model is not None else None
    manifest = {
        "format": FORMAT,
        "version": VERSION,
        "config": {key: gallery.config[key] for key in CONFIG_KEYS},
        "count": len(gallery.rows),
        "labels": gallery.rows.labels,
        "threshold": gallery.threshold,
        "calibration": gallery.calibration,
        "model": model,
        "data": data,
        "files": files,
    }
    tmp = root / f".{MANIFEST}.{token}.tmp"
    _write(tmp, json.dumps(manifest).encode())
    os.replace(tmp, root / MANIFEST)  # the commit point
    _fsync_dir(root)
    for old in root.iterdir():  # earlier data, and what crashed saves left behind
        if old.name == data:
            continue
        if old.name.startswith(("data-", ".data-")):
            shutil.rmtree(old, ignore_errors=True)
        elif old.name.startswith(f".{MANIFEST}."):
            old.unlink(missing_ok=True)
    return manifest


def load(folder: str, model: dict[str, Any] | None) -> Gallery:
    """Read a gallery folder; ``model`` (``{modelName, embeddingDim, fingerprint}``) must match its own."""
    root = Path(folder)
    manifest = _manifest(root)
    config, count = manifest["config"], manifest["count"]
    stored_model = manifest["model"]
    if model is not None:
        _check_model(stored_model, model, int(config["dim"]))
    data = root / manifest["data"]
    raw = _read(data, manifest["files"]["embeddings"], "embeddings.npy")
    try:
        array = np.load(io.BytesIO(raw), allow_pickle=False)
    except ValueError as exc:
        raise BridgeValidationError(f"{data / 'embeddings.npy'} is not a readable .npy file: {exc}", "dir") from exc
    if array.dtype != np.float32 or array.shape != (count, int(config["dim"])) or len(manifest["labels"]) != count:
        raise BridgeValidationError(
            f"{data / 'embeddings.npy'} holds {array.dtype} {array.shape}, but the manifest says float32 "
            f"({count}, {config['dim']}) with {len(manifest['labels'])} labels",
            path="dir",
        )
    gallery = Gallery(dict(config), stored_model)
    gallery.rows.add(torch.from_numpy(array.copy()), list(manifest["labels"]))  # stored ready for the metric
    index_file = manifest["files"].get("index")
    if index_file is not None and isinstance(gallery.search, FaissSearch):
        gallery.search.from_bytes(np.frombuffer(_read(data, index_file, "index.faiss"), dtype=np.uint8))
    gallery.restored(index_file is not None)
    gallery.threshold, gallery.calibration = manifest["threshold"], manifest["calibration"]
    return gallery


def _manifest(root: Path) -> dict[str, Any]:
    path = root / MANIFEST
    if not path.is_file():
        raise BridgeValidationError(f"{root} is not a gallery folder: {MANIFEST} is missing", path="dir")
    try:
        manifest = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError) as exc:
        raise BridgeValidationError(f"{path} is damaged: not valid JSON ({exc})", path="dir") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BridgeValidationError(f"{path} is not a recognite gallery manifest", path="dir")
    if manifest.get("version") != VERSION:
        raise BridgeValidationError(
            f"{path} is gallery format version {manifest.get('version')!r}; this SDK reads version {VERSION}",
            path="dir",
        )
    needed = ("config", "count", "labels", "threshold", "calibration", "model", "data", "files")
    missing = [key for key in needed if key not in manifest]
    if missing or not isinstance(manifest["config"], dict) or not all(k in manifest["config"] for k in CONFIG_KEYS):
        raise BridgeValidationError(f"{path} is damaged: missing {', '.join(missing) or 'config keys'}", path="dir")
    wrong = _wrong_fields(manifest)
    if wrong:
        raise BridgeValidationError(f"{path} is damaged: {'; '.join(wrong)}", path="dir")
    return manifest


def _wrong_fields(manifest: dict[str, Any]) -> list[str]:
    """What in a manifest has the wrong type or an impossible value (a hand-edited or foreign file)."""
    config, wrong = manifest["config"], []
    checks = {
        "config.metric": config["metric"] in METRICS,
        "config.backend": config["backend"] in ("exact", "faiss"),
        "config.index": isinstance(config["index"], str),
        "config.dim": _positive_int(config["dim"]),
        "config.nprobe": config["nprobe"] is None or _positive_int(config["nprobe"]),
        "config.efSearch": config["efSearch"] is None or _positive_int(config["efSearch"]),
        "config.averageReferences": isinstance(config["averageReferences"], bool),
        "count": isinstance(manifest["count"], int) and manifest["count"] >= 0,
        "labels": isinstance(manifest["labels"], list)
        and all(isinstance(label, str | int | float) and not isinstance(label, bool) for label in manifest["labels"]),
        "threshold": manifest["threshold"] is None or isinstance(manifest["threshold"], int | float),
        # only a data folder of its own, never a path out of the gallery's folder
        "data": isinstance(manifest["data"], str) and re.fullmatch(r"data-[0-9a-f]+", manifest["data"]) is not None,
        "files": isinstance(manifest["files"], dict) and isinstance(manifest["files"].get("embeddings"), dict),
        "model": manifest["model"] is None or isinstance(manifest["model"], dict),
    }
    for field, ok in checks.items():
        if not ok:
            wrong.append(f"{field} is not valid")
    return wrong


def _positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _check_model(stored: dict[str, Any] | None, model: dict[str, Any], dim: int) -> None:
    if model["embeddingDim"] != dim:
        raise BridgeValidationError(
            f"the gallery holds {dim}-dim embeddings, but this model makes {model['embeddingDim']}-dim ones",
            path="model",
        )
    if stored is None:
        return
    if stored["modelName"] != model["modelName"]:
        raise BridgeValidationError(
            f"the gallery was built with {stored['modelName']}, not {model['modelName']}: load it with that model",
            path="model",
        )
    if stored.get("fingerprint") and stored["fingerprint"] != model["fingerprint"]:
        raise BridgeValidationError(
            f"the gallery was built with other {stored['modelName']} weights (fingerprint {stored['fingerprint']}, "
            f"this model's is {model['fingerprint']}): load the same weights, or rebuild the gallery",
            path="model",
        )


def _npy_bytes(array: torch.Tensor) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(array.numpy()), allow_pickle=False)
    return buffer.getvalue()


def _write(path: Path, data: bytes) -> dict[str, Any]:
    with open(path, "xb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    return {"sha256": _sha256(data), "bytes": len(data)}


def _read(data: Path, entry: dict[str, Any], name: str) -> bytes:
    path = data / name
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise BridgeValidationError(f"{path} cannot be read ({exc.strerror}): the gallery is damaged", "dir") from exc
    if len(raw) != entry.get("bytes") or _sha256(raw) != entry.get("sha256"):
        raise BridgeValidationError(f"{path} is damaged: its checksum does not match the manifest", path="dir")
    return raw


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
