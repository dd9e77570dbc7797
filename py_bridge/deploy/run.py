"""``model.exportOnnx`` from start to end: copy, trace, write, check with onnxruntime, then publish.

Stages (each reported as a progress event, with a cancellation point between them): ``copying`` the
model's embedding path to the CPU, ``exporting`` it with torch's exporter, ``checking`` the written file
against torch, then the sidecar is written and both files are renamed into place. Nothing appears at
the target paths unless the check passed.
"""

from __future__ import annotations

from typing import Any

from bridge.jobs import JobContext
from deploy import files
from deploy.check import check_onnx, probe_images, torch_embeddings
from deploy.export import check_fits_one_file, export_program, opset_of, save_program
from deploy.graph import EmbeddingGraph, cpu_copy
from deploy.sidecar import build_sidecar
from model.recognizer import Recognizer


def export_onnx(
    model: Recognizer, path: str, options: dict[str, Any], recognite_ts: str, ctx: JobContext
) -> dict[str, Any]:
    """Export ``model``'s embedding path to ``path`` and its sidecar to ``<path>.json``, checked.

    Args:
        model: The live model (left as it is: a CPU copy is exported).
        path: The absolute path of the .onnx file.
        options: The resolved ``ExportOnnxConfig``: ``{size, dynamicBatch, opset: int | None}``.
        recognite_ts: The version of recognite-ts asking, recorded in the sidecar.
        ctx: The job's context (progress, cancellation).

    Returns:
        ``{path, sidecarPath, sidecar}`` (an ``OnnxExportResult``).

    Raises:
        BridgeValidationError: For a target that cannot be written, a size the model cannot take, or
            weights too large for one file.
        OnnxCheckFailed: When onnxruntime disagrees with torch on the probe batch.
    """
    size, dynamic_batch, opset = int(options["size"]), bool(options["dynamicBatch"]), options["opset"]
    files.check_target(path)
    ctx.report({"type": "progress", "stage": "copying"})
    graph = EmbeddingGraph(cpu_copy(model)).eval()
    check_fits_one_file(graph)
    probes = probe_images(size)
    expected = torch_embeddings(graph, probes)
    ctx.check_cancelled()
    ctx.report({"type": "progress", "stage": "exporting"})
    program = export_program(graph, size, dynamic_batch, None if opset is None else int(opset))
    ctx.check_cancelled()
    sidecar_path = files.sidecar_path(path)
    onnx_tmp = files.temporary_beside(path)
    json_tmp = ""
    try:
        save_program(program, onnx_tmp)
        del program
        ctx.report({"type": "progress", "stage": "checking"})
        check = check_onnx(onnx_tmp, probes, expected, dynamic_batch)
        ctx.check_cancelled()
        sidecar = build_sidecar(
            graph.model, size, dynamic_batch, opset_of(onnx_tmp), recognite_ts, files.sha256_of(onnx_tmp), check
        )
        json_tmp = files.temporary_beside(sidecar_path)
        files.write_json(json_tmp, sidecar)
        # the model first: a crash between the renames leaves an old sidecar whose onnxSha256 refuses it
        files.publish(onnx_tmp, path)
        files.publish(json_tmp, sidecar_path)
    except BaseException:
        files.remove_quietly(onnx_tmp, *([json_tmp] if json_tmp else []))
        raise
    return {"path": path, "sidecarPath": sidecar_path, "sidecar": sidecar}
