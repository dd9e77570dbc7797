"""The export itself: torch's recommended exporter (``torch.onnx.export(..., dynamo=True)``) to one file.

The graph (graph.py) takes one input, ``images`` (N × 3 × size × size float32, N dynamic when asked),
and gives one output, ``embeddings`` (N × D float32). The weights are stored inside the .onnx file:
ONNX files are protobuf messages, limited to 2 GB, and a model whose weights do not fit (regnet_y_128gf,
vit_h_14) is refused before anything is traced, rather than written as a file plus external data that
the sidecar's checksum would not cover.
"""

from __future__ import annotations

import onnx
import torch

from bridge.errors import BridgeValidationError
from deploy.graph import EmbeddingGraph, weight_bytes

INPUT_NAME = "images"
OUTPUT_NAME = "embeddings"
# protobuf's 2 GiB limit on one message, less room for the graph itself
MAX_WEIGHT_BYTES = 2**31 - 2**26


def check_fits_one_file(graph: EmbeddingGraph) -> None:
    """Refuse a model whose weights exceed what a single .onnx file can hold."""
    size = weight_bytes(graph.model)
    if size > MAX_WEIGHT_BYTES:
        raise BridgeValidationError(
            f"{graph.model.model_name}'s weights take {size / 2**30:.2f} GiB, more than one ONNX file can hold "
            "(2 GiB, protobuf's limit); exporting weights as external data is not supported",
            path="model",
        )


def export_program(graph: EmbeddingGraph, size: int, dynamic_batch: bool, opset: int | None) -> torch.onnx.ONNXProgram:
    """Trace ``graph`` for ``size`` × ``size`` images and convert it to ONNX (in memory).

    Args:
        graph: The embedding graph, on the CPU, in evaluation mode.
        size: Side of the square input.
        dynamic_batch: Whether the batch axis is dynamic (any N ≥ 1); otherwise it is fixed at 1.
        opset: The ONNX opset to target, or ``None`` for the exporter's default.

    Returns:
        The ONNX program; ``save`` writes it.
    """
    batch = 2 if dynamic_batch else 1  # torch.export specialises sizes 0 and 1: trace a dynamic axis at 2
    sample = torch.zeros(batch, 3, size, size)
    dynamic_shapes = {INPUT_NAME: {0: torch.export.Dim("batch", min=1)}} if dynamic_batch else None
    # verbose=False: no progress lines (the worker's stderr is its log)
    program = torch.onnx.export(
        graph,
        (sample,),
        dynamo=True,
        input_names=[INPUT_NAME],
        output_names=[OUTPUT_NAME],
        opset_version=opset,
        dynamic_shapes=dynamic_shapes,
        optimize=True,
        verbose=False,
    )
    if program is None:  # only the TorchScript exporter returns None
        raise RuntimeError("torch.onnx.export(dynamo=True) returned no program")
    return program


def save_program(program: torch.onnx.ONNXProgram, path: str) -> None:
    """Write the program to ``path`` with its weights inside the file."""
    program.save(path, external_data=False)


def opset_of(path: str) -> int:
    """The default-domain (``ai.onnx``) opset the saved model imports."""
    model = onnx.load(path, load_external_data=False)
    for entry in model.opset_import:
        if entry.domain in ("", "ai.onnx"):
            return int(entry.version)
    raise RuntimeError(f"{path} imports no ai.onnx opset")
