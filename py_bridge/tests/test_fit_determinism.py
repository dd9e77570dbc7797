"""The same fit with the same seed gives the same weights, with loader worker processes too."""

import torch

from bridge.jobs import JobContext
from data.synthetic import generate
from model.recognizer import Recognizer
from training import loader
from training.fit import fit


def options(csv, workers):
    return {
        "train": {"csv": csv, "imageColumn": "image", "labelColumn": "label"},
        "validation": None,
        "epochs": 1,
        "batchSize": 4,  # 16 images: 4 steps
        "lr": 0.05,
        "momentum": 0.9,
        "weightDecay": 5e-4,
        "size": 32,
        "hflip": True,
        "logitScale": 16.0,
        "margin": 0.2,
        "seed": 7,
        "numWorkers": workers,
        "precision": "fp32",
        "checkpointDir": None,
        "resumeFrom": None,
    }


def train_once(csv, workers):
    torch.manual_seed(0)  # the same initial weights; fit's seed governs the rest
    model = Recognizer("shufflenet_v2_x0_5", num_classes=4)  # small: the test must stay fast
    fit(model, torch.device("cpu"), options(csv, workers), JobContext())
    return model.state_dict()


def test_same_seed_same_weights_with_loader_workers(tmp_path):
    csv = generate(tmp_path / "set", 4, 4, size=40, seed=1)["csvPath"]
    # what run 1 leaves in the global generators must not matter to run 2
    first = train_once(csv, workers=2)
    torch.rand(1000)
    second = train_once(csv, workers=2)
    assert first.keys() == second.keys()
    for key in first:  # exact: the same ops on the same data in the same order, on one CPU in one process
        assert torch.equal(first[key], second[key]), key


def test_worker_seeds_differ_by_epoch_and_worker():
    seeds = {loader.worker_seed(seed, worker) for seed in range(8) for worker in range(4)}
    assert len(seeds) == 32 and all(0 <= s < 2**63 for s in seeds)


class _RandomDraws(torch.utils.data.Dataset):
    """Each item: a draw from torch's, numpy's and random's generators of the process that loads it."""

    def __len__(self):
        return 8

    def __getitem__(self, i):
        import random

        import numpy as np

        return torch.tensor([torch.rand(1).item(), float(np.random.rand()), random.random()], dtype=torch.float64)


def draws(seed):
    return torch.cat(list(loader.seeded_loader(_RandomDraws(), 2, num_workers=2, seed=seed, drop_last=False)))


def test_loader_workers_draw_from_the_seed_alone():
    torch.manual_seed(123)  # the caller's global state plays no part
    first = draws(5)
    torch.manual_seed(456)
    assert torch.equal(first, draws(5))
    assert not torch.equal(first, draws(6))
