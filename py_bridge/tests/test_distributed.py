"""Distributed fit: torchrun's command line, the shards, the checks made before launching, and one gloo run."""

import json
import os

import pytest
import torch

from bridge import rng
from bridge.errors import BridgeValidationError
from bridge.jobs import JobContext
from data.synthetic import generate
from model.checkpoints import read_mapping
from model.recognizer import Recognizer
from training.distributed.launch import resolve, torchrun_command
from training.distributed.sampler import ShardSampler
from training.loader import epoch_order

CPU = torch.device("cpu")


def dist(**changes):
    """A resolved DistributedConfig, as TypeScript sends it."""
    return {
        "processes": 2,
        "backend": None,
        "syncBatchNorm": False,
        "nodes": 1,
        "nodeRank": 0,
        "rendezvous": None,
        "timeoutSeconds": 30,
        "maxRestarts": 0,
        "logDir": None,
        **changes,
    }


def test_single_node_is_standalone_with_the_rank_module():
    command = torchrun_command(2, dist(), "/tmp/spec.json", python="/py")
    assert command[:4] == ["/py", "-m", "torch.distributed.run", "--nproc-per-node=2"]
    assert "--standalone" in command
    assert not any(c.startswith("--rdzv") for c in command)
    assert command[-3:] == ["-m", "training.distributed.rank", "/tmp/spec.json"]


def test_several_nodes_pass_the_rendezvous_and_a_bounded_join():
    command = torchrun_command(4, dist(nodes=2, nodeRank=1, rendezvous="10.0.0.1:29400", maxRestarts=3), "s", "py")
    for part in [
        "--nnodes=2",
        "--node-rank=1",
        "--rdzv-backend=c10d",
        "--rdzv-endpoint=10.0.0.1:29400",
        "--max-restarts=3",
        "--rdzv-conf=join_timeout=30,read_timeout=30,timeout=30",
    ]:
        assert part in command
    assert "--standalone" not in command


@pytest.mark.parametrize("world", [1, 2, 3])
def test_the_shards_of_an_epoch_are_disjoint_equal_and_change_per_epoch(world):
    rows = 41
    for epoch in range(3):
        shards = []
        for rank in range(world):
            sampler = ShardSampler(rows, rank, world, seed=5)
            sampler.set_epoch(epoch)
            keys = list(sampler)
            assert all(key == 5 + epoch for key, _ in keys)  # augmentation follows the epoch, as in one process
            shards.append([row for _, row in keys])
        assert all(len(s) == rows // world for s in shards)
        seen = [row for s in shards for row in s]
        assert len(set(seen)) == len(seen) == rows // world * world
        # dealt from the single-process order: N ranks' step k is one process's step k with N times the batch
        single = epoch_order(rows, 5 + epoch)
        batch = 4
        for step in range(rows // world // batch):
            together = {row for s in shards for row in s[step * batch : (step + 1) * batch]}
            assert together == set(single[step * batch * world : (step + 1) * batch * world])
    a, b = ShardSampler(rows, 0, 2, seed=5), ShardSampler(rows, 0, 2, seed=5)
    b.set_epoch(1)
    assert a.rows() != b.rows()


def test_defaults_and_refusals_follow_the_device():
    assert resolve(dist(processes=None), CPU) == (1, "gloo")
    assert resolve(dist(processes=1), CPU) == (1, "gloo")
    with pytest.raises(BridgeValidationError, match="nccl.*needs GPUs") as info:
        resolve(dist(backend="nccl"), CPU)
    assert info.value.path == "distributed.backend"
    with pytest.raises(BridgeValidationError, match="between 1 and") as info:
        resolve(dist(processes=10_000), CPU)
    assert info.value.path == "distributed.processes"


def test_on_gpus_the_defaults_are_one_process_per_gpu_and_nccl(monkeypatch):
    # no GPU here: what resolve reads of CUDA is the device's type and the GPU count
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    gpu = torch.device("cuda:0")
    assert resolve(dist(processes=None), gpu) == (2, "nccl")
    assert resolve(dist(processes=1, backend="gloo", syncBatchNorm=True), gpu) == (1, "gloo")
    with pytest.raises(BridgeValidationError, match="between 1 and the 2 GPUs") as info:
        resolve(dist(processes=3), gpu)
    assert info.value.path == "distributed.processes"


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="two ranks need two cores")
def test_two_gloo_ranks_train_checkpoint_and_hand_back_the_weights(tmp_path, fit_options):
    from training.distributed.launch import fit_distributed

    csv = generate(tmp_path / "set", 4, 8, size=32, seed=1)["csvPath"]  # 32 images of 4 labels
    with rng.LOCK, torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = Recognizer("shufflenet_v2_x0_5", num_classes=4)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    logs = tmp_path / "logs"
    options = fit_options(
        csv,
        epochs=2,
        numWorkers=0,
        checkpointDir=str(tmp_path / "ck"),
        distributed=dist(logDir=str(logs)),
    )
    ctx = JobContext()
    result = fit_distributed(model, CPU, options, ctx)
    assert [h["epoch"] for h in result["history"]] == [1, 2]
    events = ctx.take_events()
    assert [e["epoch"] for e in events if e["type"] == "epoch"] == [1, 2]
    assert [e["step"] for e in events if e["type"] == "batch"] == [1, 2, 3, 4, 1, 2, 3, 4]  # 16 rows a rank, 4 a step
    for epoch in range(2):
        shards = [json.loads((logs / f"samples-rank{r}.jsonl").read_text().splitlines()[epoch])["rows"] for r in (0, 1)]
        assert not set(shards[0]) & set(shards[1]) and len(shards[0]) == len(shards[1]) == 16
    checkpoint = read_mapping(str(tmp_path / "ck" / "last.pt"), "resumeFrom")
    assert checkpoint["epoch"] == 2
    assert all(torch.equal(checkpoint["model"][k], v) for k, v in model.state_dict().items())
    assert any(not torch.equal(before[k], v) for k, v in model.state_dict().items())
