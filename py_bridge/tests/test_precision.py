"""The precision option (bf16, fp16 under autocast), the stop on a non-finite loss, GPU-minded paths on the CPU."""

import contextlib

import pytest
import torch
import torch.nn.functional as F  # noqa: N812

from bridge.errors import BridgeValidationError
from bridge.jobs import JobContext
from data.dataset import read_csv
from data.synthetic import generate
from evaluation import run as evaluation_run
from model import layout, precision
from model.checkpoints import read_mapping
from model.embedding import embed_frame, output_buffer
from model.recognizer import Recognizer
from model.store import load_state
from training import steps
from training.fit import fit

CPU = torch.device("cpu")
COSINE_AT_LEAST = 0.99  # bf16 keeps 8 mantissa bits: rows agree far better than this (~0.9999 measured)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    out = generate(tmp_path_factory.mktemp("precision") / "set", 4, 4, size=40, seed=3)
    return out["csvPath"]


def embed_options(p):
    return {"size": 32, "batchSize": 6, "numWorkers": 0, "tta": "none", "precision": p}


def fit_options(csv, p, checkpoint_dir=None):
    from conftest import _fit_options

    return _fit_options(csv, hflip=False, margin=0.0, seed=1, precision=p, checkpointDir=checkpoint_dir)


def frame(csv):
    from data.dataset import DatasetSpec

    return read_csv(DatasetSpec.from_json({"csv": csv, "imageColumn": "image", "labelColumn": "label"}), "dataset")


@pytest.mark.parametrize("p", ["bf16", "fp16"])
def test_reduced_precision_embeddings_agree_with_fp32_and_come_back_float32(data, p):
    torch.manual_seed(0)
    model = Recognizer("resnet18")
    rows = frame(data)
    full = embed_frame(model, CPU, rows, embed_options("fp32"), JobContext())
    reduced = embed_frame(model, CPU, rows, embed_options(p), JobContext())
    assert reduced.dtype == torch.float32 and reduced.shape == full.shape == (16, 512)
    assert (reduced.norm(dim=1) - 1).abs().max() < 1e-5  # normalised in float32
    cosine = F.cosine_similarity(full, reduced)
    assert cosine.min() >= COSINE_AT_LEAST, cosine.min()
    assert not torch.equal(full, reduced), "autocast changed nothing: it did not run"


@pytest.mark.parametrize("p", ["bf16", "fp16"])
def test_one_reduced_precision_epoch_trains_and_its_checkpoint_loads(data, tmp_path, p):
    torch.manual_seed(0)
    model = Recognizer("shufflenet_v2_x0_5", num_classes=4)
    events = []
    ctx = JobContext()
    result = fit(model, CPU, fit_options(data, p, str(tmp_path)), ctx)
    events = ctx.take_events()
    assert [h["epoch"] for h in result["history"]] == [1]
    assert torch.isfinite(torch.tensor(result["history"][0]["loss"]))
    assert [e["step"] for e in events if e["type"] == "batch"] == [1, 2, 3, 4]  # CPU: every step reports
    checkpoint = read_mapping(str(tmp_path / "last.pt"), "resumeFrom")
    assert checkpoint["config"]["fit"]["precision"] == p
    assert ("scaler" in checkpoint) == (p == "fp16")  # fp16's loss scale resumes with the run
    assert all(v.dtype != torch.bfloat16 and v.dtype != torch.float16 for v in checkpoint["model"].values())
    fresh = Recognizer("shufflenet_v2_x0_5", num_classes=4)
    load_state(fresh, checkpoint["model"], "last.pt", "path")
    for key, value in model.state_dict().items():
        assert torch.equal(fresh.state_dict()[key], value), key


@pytest.mark.parametrize("p", ["fp32", "fp16"])
def test_a_non_finite_loss_stops_fit_at_once_without_a_checkpoint(data, tmp_path, monkeypatch, p):
    real = steps.cosface_loss
    monkeypatch.setattr(steps, "cosface_loss", lambda *args: real(*args) * float("nan"))
    ctx = JobContext()
    with pytest.raises(BridgeValidationError, match=r"loss became nan \(not finite\) at epoch 1, step 1") as err:
        fit(Recognizer("shufflenet_v2_x0_5", num_classes=4), CPU, fit_options(data, p, str(tmp_path)), ctx)
    assert err.value.path == "lr"
    assert ("precision 'bf16'" in str(err.value)) == (p == "fp16")
    assert not (tmp_path / "last.pt").exists()
    assert ctx.take_events() == []


def test_a_precision_autocast_cannot_run_is_refused_with_the_fix(monkeypatch):
    # CPU autocast with an unsupported dtype only warns and runs float32: simulate such a torch
    monkeypatch.setattr(precision.torch, "autocast", lambda *a, **k: contextlib.nullcontext())
    with pytest.raises(BridgeValidationError, match="precision 'fp16' is not supported on cpu.*use precision 'bf16'"):
        precision.check_precision("fp16", CPU, training=True)
    precision.check_precision("fp32", CPU)  # fp32 needs no autocast
    with pytest.raises(BridgeValidationError, match="unknown precision 'tf32'"):
        precision.check_precision("tf32", CPU)


def test_batch_events_are_throttled_where_each_would_cost_a_sync(data, monkeypatch):
    # as on CUDA: events at most every REPORT_INTERVAL_S, the first and the last step of an epoch always
    monkeypatch.setattr(steps, "syncs_cost", lambda device: True)
    monkeypatch.setattr(steps, "REPORT_INTERVAL_S", 1e9)
    ctx = JobContext()
    result = fit(Recognizer("shufflenet_v2_x0_5", num_classes=4), CPU, fit_options(data, "fp32"), ctx)
    batches = [e for e in ctx.take_events() if e["type"] == "batch"]
    assert [e["step"] for e in batches] == [1, 4]
    assert all(e["steps"] == 4 and e["samplesPerSec"] > 0 and e["etaSeconds"] >= 0 for e in batches)
    assert batches[-1]["etaSeconds"] == 0
    assert torch.isfinite(torch.tensor(result["history"][0]["loss"]))


def test_channels_last_holds_for_the_block_and_gives_the_same_embeddings():
    torch.manual_seed(0)
    model = Recognizer("resnet18").eval()
    params = list(model.parameters())
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        plain = model(x)
        with layout.channels_last(model, True) as nhwc:
            assert nhwc and model.backbone.conv1.weight.is_contiguous(memory_format=torch.channels_last)
            with layout.channels_last(model, True):  # nested: the outer block keeps the layout
                pass
            assert model.backbone.conv1.weight.is_contiguous(memory_format=torch.channels_last)
            converted = model(layout.to_device(x, CPU, nhwc))
    assert model.backbone.conv1.weight.is_contiguous()
    assert all(a is b for a, b in zip(params, model.parameters(), strict=True)), "an optimizer keeps its parameters"
    assert (plain - converted).abs().max() < 1e-4  # the same math in another memory order
    assert layout.wants_channels_last("resnet50", torch.device("cuda", 0))
    assert not layout.wants_channels_last("vit_b_16", torch.device("cuda", 0))
    assert not layout.wants_channels_last("resnet50", CPU)


def test_scoring_stays_on_the_cpu_there_and_chunks_grow_with_free_gpu_memory(monkeypatch):
    emb = torch.randn(3, 4)
    sides = [{"frame": None}, {"embeddings": emb}]
    assert evaluation_run.scoring_device(emb, emb, sides) == CPU
    assert evaluation_run.auto_chunk(10_000) == evaluation_run.auto_chunk(10_000, CPU) == 479
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device=None: (40 << 30, 80 << 30))
    assert evaluation_run.auto_chunk(10_000, torch.device("cuda", 0)) == evaluation_run.GPU_MAX_CHUNK
    assert evaluation_run.auto_chunk(10_000_000, torch.device("cuda", 0)) == 38  # 20 GiB / (56 B x 10M)
    assert output_buffer(5, 3, CPU).shape == (5, 3)
