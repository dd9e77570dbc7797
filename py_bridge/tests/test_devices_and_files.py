"""GPU-side promises checked on the CPU: device resolution with CUDA faked, and CPU tensors in every file."""

import ast
from collections import OrderedDict
from pathlib import Path

import pytest
import torch

from bridge.devices import resolve_device
from bridge.errors import BridgeValidationError
from model.checkpoints import on_cpu, save_atomic

PY_BRIDGE = Path(__file__).resolve().parents[1]


@pytest.fixture
def two_gpus(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)


def test_auto_is_cuda_0_with_an_index_when_there_is_a_gpu(two_gpus):
    assert str(resolve_device("auto")) == "cuda:0"
    assert str(resolve_device("cuda")) == "cuda:0"
    assert str(resolve_device("cuda:1")) == "cuda:1"
    with pytest.raises(BridgeValidationError, match=r"cuda:0\.\.cuda:1"):
        resolve_device("cuda:2")


def test_without_a_gpu_auto_is_the_cpu_and_cuda_is_refused(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert str(resolve_device("auto")) == "cpu"
    with pytest.raises(BridgeValidationError, match="no CUDA GPU"):
        resolve_device("cuda")
    with pytest.raises(BridgeValidationError, match="unknown device"):
        resolve_device("cuda:")


def test_files_hold_cpu_tensors_whatever_device_the_model_is_on(tmp_path):
    # the meta device stands in for a GPU: moving a meta tensor to the CPU raises, which shows that
    # on_cpu reaches a tensor wherever it sits (a GPU tensor would be copied there instead)
    for state in (
        OrderedDict(weight=torch.ones(2, 2, device="meta")),
        {"optimizer": {"state": {0: {"momentum_buffer": torch.zeros(1, device="meta")}}}},
        {"history": [(torch.zeros(1, device="meta"),)]},
    ):
        with pytest.raises(NotImplementedError, match="meta"):
            on_cpu(state)
    moved = on_cpu(OrderedDict(w=torch.ones(1), n={"k": [1, "x", None]}))
    assert isinstance(moved, OrderedDict) and moved["n"] == {"k": [1, "x", None]}
    save_atomic({"model": OrderedDict(w=torch.arange(3.0))}, str(tmp_path / "ckpt.pt"))
    loaded = torch.load(tmp_path / "ckpt.pt", weights_only=True)  # a plain load, no map_location
    assert loaded["model"]["w"].device.type == "cpu"


def _calls(name: str) -> list[tuple[str, ast.Call]]:
    """Every call of ``torch.<name>`` in the worker's code (tests excluded), with its file."""
    found = []
    for path in PY_BRIDGE.rglob("*.py"):
        if "tests" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            func = node.func if isinstance(node, ast.Call) else None
            if isinstance(func, ast.Attribute) and func.attr == name and getattr(func.value, "id", "") == "torch":
                found.append((str(path.relative_to(PY_BRIDGE)), node))
    return found


def test_every_torch_save_goes_through_save_atomic_and_every_load_maps_to_the_cpu():
    saves = [file for file, _ in _calls("save")]
    assert saves == ["model/checkpoints.py"], f"torch.save outside save_atomic: {saves}"
    loads = _calls("load")
    assert loads, "expected torch.load calls"
    for file, call in loads:
        keywords = {k.arg: k.value for k in call.keywords}
        assert "map_location" in keywords, f"{file}:{call.lineno}: torch.load without map_location"
        assert isinstance(keywords.get("weights_only"), ast.Constant) and keywords["weights_only"].value is True, (
            f"{file}:{call.lineno}: torch.load without weights_only=True"
        )


@pytest.fixture
def torch_flags(monkeypatch):
    """Restore torch's determinism flags and the cuBLAS setting after a test that sets them."""
    saved = (
        torch.are_deterministic_algorithms_enabled(),
        torch.backends.cudnn.deterministic,
        torch.backends.cudnn.benchmark,
    )
    monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG", raising=False)
    yield
    torch.use_deterministic_algorithms(saved[0])
    torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = saved[1], saved[2]


def test_deterministic_mode_sets_torch_flags_and_the_cublas_workspace(torch_flags):
    import os

    from bridge import reproducibility

    reproducibility.prepare_environment(True)
    assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == ":4096:8"
    reproducibility.apply(True, torch.device("cuda", 0))  # only flags: no GPU is touched
    assert torch.are_deterministic_algorithms_enabled()
    assert torch.backends.cudnn.deterministic and not torch.backends.cudnn.benchmark
    assert reproducibility.is_deterministic()


def test_without_deterministic_mode_cudnn_benchmarks_on_a_gpu_only(torch_flags, monkeypatch):
    import os

    from bridge import reproducibility

    reproducibility.prepare_environment(False)
    assert "CUBLAS_WORKSPACE_CONFIG" not in os.environ
    monkeypatch.setenv("CUBLAS_WORKSPACE_CONFIG", ":16:8")  # the user's own deterministic choice stays
    reproducibility.prepare_environment(True)
    assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == ":16:8"
    reproducibility.apply(False, torch.device("cuda", 0))
    assert torch.backends.cudnn.benchmark and not torch.are_deterministic_algorithms_enabled()
    reproducibility.apply(False, torch.device("cpu"))
    assert not torch.backends.cudnn.benchmark and not reproducibility.is_deterministic()


def test_a_cpu_fit_runs_in_deterministic_mode(torch_flags, tmp_path, fit_options):
    # deterministic algorithms raise for operations that have none: fit's must all have one
    from bridge import reproducibility
    from bridge.jobs import JobContext
    from data.synthetic import generate
    from model.recognizer import Recognizer
    from training.fit import fit

    csv = generate(tmp_path, 2, 4, size=32, seed=0)["csvPath"]
    gallery = {"csv": csv, "imageColumn": "image", "labelColumn": "label"}
    reproducibility.apply(True, torch.device("cpu"))
    options = fit_options(csv, validation={"gallery": gallery, "query": gallery})  # margin: one_hot, a scatter
    result = fit(Recognizer("shufflenet_v2_x0_5", num_classes=2), torch.device("cpu"), options, JobContext())
    assert result["history"][0]["top1"] >= 0
