"""The same fit with the same seed gives the same weights: with loader processes, beside another job, resumed."""

import pytest
import torch

from bridge import jobs, rng
from bridge.jobs import JobContext
from data.dataset import ImageDataset
from data.synthetic import generate
from model.recognizer import Recognizer
from training import loader
from training.fit import fit


@pytest.fixture(scope="module")
def csv(tmp_path_factory):
    return generate(tmp_path_factory.mktemp("set"), 4, 4, size=40, seed=1)["csvPath"]  # 16 images of 4 labels


def options(csv, workers, **changes):
    from conftest import _fit_options

    return _fit_options(csv, seed=7, numWorkers=workers, **changes)  # 16 images: 4 steps of 4


def fresh_model(name="shufflenet_v2_x0_5"):
    with rng.LOCK, torch.random.fork_rng(devices=[]):  # as model/store.py makes them: no job's draws move
        torch.manual_seed(0)  # the same initial weights; fit's seed governs the rest
        return Recognizer(name, num_classes=4)  # small: the tests must stay fast


def train_once(csv, workers, **changes):
    model = fresh_model()
    result = fit(model, torch.device("cpu"), options(csv, workers, **changes), JobContext())
    return model.state_dict(), result


def assert_same(first, second):
    assert first.keys() == second.keys()
    for key in first:  # exact: the same ops on the same data in the same order, on one CPU in one process
        assert torch.equal(first[key], second[key]), key


def test_same_seed_same_weights_whatever_ran_before_and_however_many_loader_processes(csv):
    first, _ = train_once(csv, workers=0)
    torch.rand(1000)  # what run 1 leaves in the global generators must not matter to run 2
    second, _ = train_once(csv, workers=2)
    assert_same(first, second)


def test_resumed_with_loader_processes_is_the_uninterrupted_run(csv, tmp_path):
    whole, _ = train_once(csv, 2, epochs=2)
    train_once(csv, 2, epochs=1, checkpointDir=str(tmp_path))
    resumed, result = train_once(csv, 2, epochs=2, resumeFrom=str(tmp_path / "last.pt"))
    assert [h["epoch"] for h in result["history"]] == [1, 2]
    assert_same(whole, resumed)


@pytest.mark.parametrize("workers", [0, 2])
def test_two_jobs_side_by_side_train_as_either_alone(csv, workers):
    # mobilenet_v3_small has dropout, so its forward passes draw from torch's global generator, which the
    # two jobs share: each must draw from its own stream (bridge/rng.py)
    opts = options(csv, workers)

    def job(model):
        def run(ctx):
            result = fit(model, torch.device("cpu"), opts, ctx)
            return {"state": model.state_dict(), "loss": result["history"][-1]["loss"]}

        return run

    alone = job(fresh_model("mobilenet_v3_small"))(JobContext())
    # the second model is made while the first job runs, as the worker's dispatch thread would
    pair = [jobs.start("fit", job(fresh_model("mobilenet_v3_small"))) for _ in range(2)]
    for job in pair:
        job.join(120)
        assert job.state == "done", job.error
        assert job.result is not None
        assert job.result["loss"] == alone["loss"]
        assert_same(alone["state"], job.result["state"])


def test_an_epoch_is_the_same_batches_with_and_without_loader_processes(csv):
    from data.dataset import DatasetSpec, read_csv
    from data.transforms import train_transform

    frame = read_csv(DatasetSpec(csv, "image", "label"))
    dataset = ImageDataset(frame, train_transform(32, hflip=True))

    def epochs(workers):
        batches = loader.TrainingLoader(dataset, 4, workers, True, torch.device("cpu"))
        return [[x for x, _ in batches.epoch(seed)] for seed in (3, 4, 3)]

    torch.manual_seed(123)  # the caller's global state plays no part
    inline = epochs(0)
    torch.manual_seed(456)
    in_processes = epochs(2)
    for a, b in zip(inline, in_processes, strict=True):
        assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))
    assert all(torch.equal(x, y) for x, y in zip(inline[0], inline[2], strict=True)), "seed 3 twice"
    assert not torch.equal(inline[0][0], inline[1][0]), "another epoch, other batches"


def test_the_row_order_is_that_of_a_shuffling_data_loader_seeded_alike():
    sampler = loader.EpochSampler(50)
    sampler.seed = 9
    reference = torch.utils.data.DataLoader(range(50), shuffle=True, generator=torch.Generator().manual_seed(9))
    assert [row for _, row in sampler] == [int(i) for i in reference]
