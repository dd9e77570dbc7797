"""The ONNX export (deploy/): the file and its sidecar, the onnxruntime check, and refusals that write nothing."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from torch import nn

from bridge.errors import BridgeValidationError
from bridge.jobs import Cancelled, JobContext
from deploy import export as export_module
from deploy import run as run_module
from deploy.check import MAX_ABS_DIFF, MIN_COSINE, OnnxCheckFailed, check_onnx, probe_images
from deploy.export import export_program, save_program
from deploy.graph import EmbeddingGraph, cpu_copy
from deploy.run import export_onnx
from gallery.fingerprint import weights_fingerprint
from model import store
from model.recognizer import Recognizer

SIZE = 64


def options(**changes: object) -> dict[str, object]:
    """A resolved ExportOnnxConfig, as TypeScript sends it."""
    return {"size": SIZE, "dynamicBatch": True, "opset": None, **changes}


@pytest.fixture(scope="module")
def resnet() -> Recognizer:
    torch.manual_seed(0)
    return Recognizer("resnet18", num_classes=7)  # training mode, as a new model is


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_export_writes_a_checked_model_and_its_sidecar(resnet: Recognizer, tmp_path: Path) -> None:
    path = str(tmp_path / "model.onnx")
    ctx = JobContext()
    result = export_onnx(resnet, path, options(), "9.9.9", ctx)

    assert result["path"] == path and result["sidecarPath"] == path + ".json"
    assert leftovers(tmp_path) == ["model.onnx", "model.onnx.json"]  # no temporaries
    assert [e["stage"] for e in ctx.take_events()] == ["copying", "exporting", "checking"]
    sidecar = json.loads(Path(path + ".json").read_text())
    assert sidecar == result["sidecar"]
    assert sidecar["format"] == "recognite-onnx" and sidecar["version"] == 1
    assert sidecar["modelName"] == "resnet18" and sidecar["embeddingDim"] == 512 and sidecar["inputSize"] == SIZE
    assert sidecar["input"] == {"name": "images", "dynamicBatch": True}
    assert sidecar["output"] == {"name": "embeddings"}
    assert sidecar["normalized"] is True
    assert sidecar["preprocess"] == {
        "resize": "shortest-side",
        "crop": "center",
        "interpolation": "bilinear",
        "antialias": True,
        "mean": [0.485, 0.456, 0.406],
        "std": [0.229, 0.224, 0.225],
    }
    assert sidecar["opset"] == 20  # torch 2.14's default, read back from the file
    assert sidecar["exportedBy"] == {"recogniteTs": "9.9.9", "torch": torch.__version__}
    assert sidecar["weightsFingerprint"] == weights_fingerprint(resnet)  # what a gallery of this model records
    assert sidecar["onnxSha256"] == hashlib.sha256(Path(path).read_bytes()).hexdigest()
    check = sidecar["check"]
    assert check["batch"] == 4
    assert 0 <= check["maxAbsDiff"] <= MAX_ABS_DIFF and check["minCosine"] >= MIN_COSINE
    assert (os.stat(path).st_mode & 0o777) != 0o600  # an ordinary file, not mkstemp's private mode

    # the live model is left as it was
    assert resnet.training and resnet.classifier is not None

    # the graph: one input, one output, a dynamic batch axis; no classifier weights inside
    proto = onnx.load(path)
    assert [i.name for i in proto.graph.input] == ["images"] and [o.name for o in proto.graph.output] == ["embeddings"]
    dims = proto.graph.input[0].type.tensor_type.shape.dim
    assert dims[0].dim_param and [d.dim_value for d in dims[1:]] == [3, SIZE, SIZE]
    assert not any(init.dims == [7, 512] for init in proto.graph.initializer)

    # onnxruntime on any batch gives what model.embed gives
    x = torch.randn(5, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(1))
    want = store.run(resnet, x, eval_mode=True).numpy()
    got = ort.InferenceSession(path, providers=["CPUExecutionProvider"]).run(["embeddings"], {"images": x.numpy()})[0]
    assert got.shape == (5, 512)
    np.testing.assert_allclose(got, want, atol=1e-4)
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)  # normalised once, in the graph


def test_fixed_batch_and_opset(resnet: Recognizer, tmp_path: Path) -> None:
    path = str(tmp_path / "fixed.onnx")
    sidecar = export_onnx(resnet, path, options(dynamicBatch=False, opset=18), "0", JobContext())["sidecar"]
    assert sidecar["input"]["dynamicBatch"] is False and sidecar["opset"] == 18
    dims = onnx.load(path).graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_value for d in dims] == [1, 3, SIZE, SIZE]


def test_a_broken_export_is_refused_and_nothing_is_written(
    resnet: Recognizer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class NormalisedTwice(nn.Module):
        """fast-reid #177: the input normalisation applied a second time, inside the graph."""

        def __init__(self, graph: EmbeddingGraph) -> None:
            super().__init__()
            self.inner = graph
            self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1))
            self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1))

        def forward(self, images: torch.Tensor) -> torch.Tensor:
            return self.inner((images - self.mean) / self.std)

    real = export_program
    monkeypatch.setattr(run_module, "export_program", lambda graph, *args: real(NormalisedTwice(graph).eval(), *args))
    (tmp_path / "model.onnx").write_bytes(b"the previous export")
    path = str(tmp_path / "model.onnx")
    with pytest.raises(OnnxCheckFailed, match="disagrees with the torch model") as err:
        export_onnx(resnet, path, options(), "0", JobContext())
    assert "largest absolute difference" in str(err.value) and "cosine" in str(err.value)
    # the previous file is untouched, no sidecar and no temporaries appeared
    assert leftovers(tmp_path) == ["model.onnx"] and (tmp_path / "model.onnx").read_bytes() == b"the previous export"


class Constant(nn.Module):
    """torchreid #316: the same embedding whatever the image."""

    def __init__(self) -> None:
        super().__init__()
        self.embedding = nn.Parameter(nn.functional.normalize(torch.randn(1, 16), dim=1))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.embedding.expand(images.shape[0], -1) + 0 * images.mean()


def test_a_constant_output_fails_even_when_torch_agrees(tmp_path: Path) -> None:
    model = Constant().eval()
    path = str(tmp_path / "constant.onnx")
    save_program(export_program(model, 32, True, None), path)  # type: ignore[arg-type]
    probes = probe_images(32)
    with torch.no_grad():
        expected = model(probes)
    with pytest.raises(OnnxCheckFailed, match="same output whatever the input"):
        check_onnx(path, probes, expected, dynamic_batch=True)


def test_a_constant_export_of_a_real_model_is_refused(
    resnet: Recognizer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = export_program

    def constant(graph: EmbeddingGraph, *args: object) -> object:
        const = Constant()
        const.embedding = nn.Parameter(nn.functional.normalize(torch.randn(1, graph.model.embedding_dim), dim=1))
        return real(const.eval(), *args)  # type: ignore[arg-type]

    monkeypatch.setattr(run_module, "export_program", constant)
    with pytest.raises(OnnxCheckFailed, match="same output whatever the input"):
        export_onnx(resnet, str(tmp_path / "m.onnx"), options(), "0", JobContext())
    assert leftovers(tmp_path) == []


def test_probe_images_differ_and_repeat() -> None:
    a, b = probe_images(16), probe_images(16)
    assert a.shape == (4, 3, 16, 16) and torch.equal(a, b)
    assert all(not torch.allclose(a[i], a[j]) for i in range(4) for j in range(i + 1, 4))


def test_refusals_before_export(resnet: Recognizer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(BridgeValidationError, match="does not exist") as err:
        export_onnx(resnet, str(tmp_path / "missing" / "m.onnx"), options(), "0", JobContext())
    assert err.value.path == "path"
    with pytest.raises(BridgeValidationError, match="is a folder"):
        export_onnx(resnet, str(tmp_path), options(), "0", JobContext())

    torch.manual_seed(0)
    vit = Recognizer("vit_b_32")
    with pytest.raises(BridgeValidationError, match="takes exactly 224×224 images, got size 64") as err:
        export_onnx(vit, str(tmp_path / "vit.onnx"), options(), "0", JobContext())
    assert err.value.path == "size"

    monkeypatch.setattr(export_module, "MAX_WEIGHT_BYTES", 1000)
    with pytest.raises(BridgeValidationError, match="more than one ONNX file can hold"):
        export_onnx(resnet, str(tmp_path / "big.onnx"), options(), "0", JobContext())

    monkeypatch.undo()
    ctx = JobContext()
    ctx.cancel()
    with pytest.raises(Cancelled):
        export_onnx(resnet, str(tmp_path / "cancelled.onnx"), options(), "0", ctx)
    assert leftovers(tmp_path) == []


def test_cpu_copy_leaves_the_model_and_drops_the_classifier(resnet: Recognizer) -> None:
    copy = cpu_copy(resnet)
    assert copy.classifier is None and not copy.training and resnet.training
    assert copy.backbone is not resnet.backbone
    assert weights_fingerprint(copy) == weights_fingerprint(resnet)
    first = next(copy.parameters())
    assert not first.requires_grad and first.data_ptr() != next(resnet.parameters()).data_ptr()
