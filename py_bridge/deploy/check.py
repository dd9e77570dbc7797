"""The worker's own check of an exported file: onnxruntime against torch on a probe batch.

Exporters are known to write models that load and run but disagree with the original (an output
that is the same for every input; normalisation applied twice), so an export only succeeds once
onnxruntime, running the file itself, gives the embeddings torch gives on probe images: within
``MAX_ABS_DIFF`` per value and ``MIN_COSINE`` per row, for the whole probe batch and, when the batch
axis is dynamic, for batches of 1 and 3 too; and the probe images, which differ, must get
embeddings that differ (by more than ``MIN_SPREAD``), so a constant output cannot pass.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import onnxruntime as ort  # type: ignore[import-untyped]  # ships no type information
import torch

from bridge.errors import BridgeValidationError
from deploy.export import INPUT_NAME, OUTPUT_NAME
from deploy.graph import EmbeddingGraph

MAX_ABS_DIFF = 1e-4
MIN_COSINE = 0.9999
# ten times the tolerance: two different probe images whose embeddings differ by less would let a
# constant output pass the comparison (random-weight backbones differ by 0.02 and more)
MIN_SPREAD = 1e-3
PROBE_IMAGES = 4
PROBE_SEED = 0


class OnnxCheckFailed(RuntimeError):
    """The exported file disagrees with the model: it is deleted and the export reports failure."""


@dataclass(frozen=True)
class CheckResult:
    """What the check measured (the sidecar's ``check``)."""

    batch: int
    max_abs_diff: float
    min_cosine: float
    min_spread: float

    def to_json(self) -> dict[str, float | int]:
        """The sidecar's ``check`` object."""
        return {"batch": self.batch, "maxAbsDiff": self.max_abs_diff, "minCosine": self.min_cosine}


def probe_images(size: int, count: int = PROBE_IMAGES, seed: int = PROBE_SEED) -> torch.Tensor:
    """``count`` different, image-like normalised inputs (count × 3 × size × size), the same for every call.

    Each mixes a colour offset, a gradient along one axis and noise of growing strength, so they differ
    in colour, structure and texture (random noise alone gives some backbones near-identical embeddings).
    """
    gen = torch.Generator().manual_seed(seed)
    ramp = torch.linspace(-1.0, 1.0, size)
    rows, cols = ramp[:, None].expand(size, size), ramp[None, :].expand(size, size)
    images = []
    for i in range(count):
        offset = torch.rand(3, 1, 1, generator=gen) * 2 - 1
        slope = torch.rand(3, 1, 1, generator=gen) * 4 - 2
        noise = torch.randn(3, size, size, generator=gen) * (0.2 + 0.8 * i / max(1, count - 1))
        images.append(offset + slope * (cols if i % 2 else rows) + noise)
    return torch.stack(images)


def torch_embeddings(graph: EmbeddingGraph, probes: torch.Tensor) -> torch.Tensor:
    """What torch gives for the probes: the reference. A size the model cannot take is the caller's error."""
    size = probes.shape[-1]
    fixed = getattr(graph.model.backbone, "image_size", None)  # ViT: its position embedding fixes one size
    if isinstance(fixed, int) and fixed != size:
        raise BridgeValidationError(
            f"{graph.model.model_name} takes exactly {fixed}×{fixed} images, got size {size}", path="size"
        )
    try:
        with torch.no_grad():
            out = graph(probes)
    except (RuntimeError, AssertionError, ValueError) as exc:  # torch's shape errors, torch._assert
        raise BridgeValidationError(
            f"{graph.model.model_name} cannot embed {size}×{size} images: {exc}",
            path="size",
        ) from None
    return out.float()


def check_onnx(path: str, probes: torch.Tensor, expected: torch.Tensor, dynamic_batch: bool) -> CheckResult:
    """Run the file with onnxruntime on the probes and compare with torch's ``expected`` embeddings.

    Args:
        path: The .onnx file.
        probes: The probe images (P × 3 × S × S).
        expected: Torch's embeddings of them (P × D).
        dynamic_batch: Whether the file's batch axis is dynamic: then the whole batch, a batch of 1 and a
            batch of 3 are run; otherwise each image alone.

    Returns:
        The largest absolute difference, the smallest row cosine and the smallest difference between
        the embeddings of two probe images.

    Raises:
        OnnxCheckFailed: When any of them is outside its bound (or not finite).
    """
    options = ort.SessionOptions()
    options.intra_op_num_threads = max(1, torch.get_num_threads())
    options.log_severity_level = 3
    session = ort.InferenceSession(path, sess_options=options, providers=["CPUExecutionProvider"])
    images = probes.numpy()
    count = images.shape[0]
    groups = [list(range(count)), [0], list(range(1, min(count, 4)))] if dynamic_batch else [[i] for i in range(count)]
    got = np.zeros(tuple(expected.shape), dtype=np.float64)
    max_abs, min_cos = 0.0, math.inf
    want_all = expected.double().numpy()
    for rows in groups:
        out = session.run([OUTPUT_NAME], {INPUT_NAME: np.ascontiguousarray(images[rows])})[0]
        if out.shape != (len(rows), want_all.shape[1]):
            raise OnnxCheckFailed(
                f"the exported model gives embeddings of shape {list(out.shape)} for a batch of {len(rows)}; "
                f"torch gives {[len(rows), want_all.shape[1]]}"
            )
        out = out.astype(np.float64)
        want = want_all[rows]
        max_abs = max(max_abs, float(np.max(np.abs(out - want))))
        min_cos = min(min_cos, float(np.min(_cosines(out, want))))
        got[rows] = out
    result = CheckResult(count, max_abs, min_cos, _min_spread(got))
    _enforce(result)
    return result


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise cosine similarity (NaN where a row is zero)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def _min_spread(embeddings: np.ndarray) -> float:
    """The smallest largest-absolute-difference between the embeddings of two different probe images."""
    count = embeddings.shape[0]
    spreads = [float(np.max(np.abs(embeddings[i] - embeddings[j]))) for i in range(count) for j in range(i + 1, count)]
    return min(spreads) if spreads else math.inf


def _enforce(result: CheckResult) -> None:
    """Raise OnnxCheckFailed unless every measure is finite and within its bound."""
    problems = []
    if not result.max_abs_diff <= MAX_ABS_DIFF:  # `not <=`: NaN fails too
        problems.append(f"largest absolute difference {result.max_abs_diff:.3g} > {MAX_ABS_DIFF:g}")
    if not result.min_cosine >= MIN_COSINE:
        problems.append(f"smallest cosine similarity {result.min_cosine:.6f} < {MIN_COSINE}")
    if not result.min_spread > MIN_SPREAD:
        problems.append(
            f"two different probe images get embeddings within {result.min_spread:.3g} of each other "
            f"(at most {MIN_SPREAD:g}): the exported model gives (nearly) the same output whatever the input"
        )
    if problems:
        raise OnnxCheckFailed(
            f"the exported ONNX model disagrees with the torch model on {result.batch} probe images: "
            + "; ".join(problems)
            + ". The files were not written."
        )
