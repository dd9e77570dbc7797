"""The JSON sidecar beside an exported model (``<path>.json``): its contract is src/sdk/deploy/sidecar.ts.

Everything a process without Python needs to feed the model exactly as the worker does (the
evaluation transform of data/transforms.py), to know whether the graph normalises its output, and to
check that a gallery was made with the same weights (``weightsFingerprint``, the value galleries record).
"""

from __future__ import annotations

from typing import Any

import torch

from data.transforms import IMAGENET_MEAN, IMAGENET_STD
from deploy.check import CheckResult
from deploy.export import INPUT_NAME, OUTPUT_NAME
from gallery.fingerprint import weights_fingerprint
from model.recognizer import Recognizer

FORMAT = "recognite-onnx"
VERSION = 1


def preprocess() -> dict[str, Any]:
    """The evaluation transform (data/transforms.py ``eval_transform``) in the sidecar's words."""
    return {
        "resize": "shortest-side",
        "crop": "center",
        "interpolation": "bilinear",
        "antialias": True,
        "mean": list(IMAGENET_MEAN),
        "std": list(IMAGENET_STD),
    }


def build_sidecar(
    model: Recognizer,
    size: int,
    dynamic_batch: bool,
    opset: int,
    recognite_ts: str,
    onnx_sha256: str,
    check: CheckResult,
) -> dict[str, Any]:
    """The sidecar of an export of ``model`` (the copy that was exported) that passed ``check``."""
    return {
        "format": FORMAT,
        "version": VERSION,
        "modelName": model.model_name,
        "embeddingDim": int(model.embedding_dim),
        "inputSize": int(size),
        "input": {"name": INPUT_NAME, "dynamicBatch": bool(dynamic_batch)},
        "output": {"name": OUTPUT_NAME},
        "normalized": bool(model.normalize),
        "preprocess": preprocess(),
        "opset": int(opset),
        "exportedBy": {"recogniteTs": recognite_ts, "torch": torch.__version__},
        "weightsFingerprint": weights_fingerprint(model),
        "onnxSha256": onnx_sha256,
        "check": check.to_json(),
    }
