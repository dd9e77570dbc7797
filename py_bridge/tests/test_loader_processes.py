"""Loader processes from the forkserver: datasets and transforms pickle, and batches are those of no processes."""

import pickle
import sys
import types

import pytest
import torch

from data import workers
from data.dataset import DatasetSpec, ImageDataset, loader_options, make_loader, read_csv
from data.synthetic import generate
from data.transforms import eval_transform, three_crop_transform, train_transform


@pytest.fixture(scope="module")
def frame(tmp_path_factory):
    csv = generate(tmp_path_factory.mktemp("set"), 3, 3, size=40, seed=2)["csvPath"]  # 9 images
    return read_csv(DatasetSpec(csv, "image", "label"))


@pytest.mark.parametrize(
    ("transform", "key"),
    [(eval_transform(32), 4), (three_crop_transform(32), 4), (train_transform(32, hflip=True), (5, 4))],
    ids=["eval", "three-crop", "train"],
)
def test_datasets_and_transforms_pickle(frame, transform, key):
    dataset = ImageDataset(frame, transform)
    copy = pickle.loads(pickle.dumps(dataset))
    assert copy.classes == dataset.classes and copy.targets == dataset.targets
    (x, y), (x2, y2) = dataset[key], copy[key]
    assert y == y2 and torch.equal(x, x2)  # exact: the same decoding and, for training, the same draws


def test_a_train_view_follows_from_the_seed_and_row_alone(frame):
    dataset = ImageDataset(frame, train_transform(32, hflip=True))
    torch.manual_seed(1)
    first = dataset[(5, 4)][0]
    torch.manual_seed(2)  # the global generator plays no part
    assert torch.equal(first, dataset[(5, 4)][0])
    # the images are square, so only the flip varies: ten seeds without both outcomes has chance 2⁻⁹
    flipped = [torch.equal(dataset[(seed, 4)][0], first.flip(-1)) for seed in range(10)]
    assert any(flipped) and not all(flipped)


def test_the_train_transform_draws_as_torchvision_does():
    from torchvision.transforms import v2

    size, img = 24, torch.randint(0, 256, (3, 40, 60), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    reference = v2.Compose(
        [
            v2.Resize(size, antialias=True),
            v2.RandomCrop(size),
            v2.RandomHorizontalFlip(),
            v2.ToDtype(torch.float32, scale=True),
            v2.Normalize((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
        ]
    )
    ours = train_transform(size, hflip=True)
    views = set()
    for seed in range(8):
        torch.manual_seed(seed)
        expected = reference(img)
        view = ours(img, torch.Generator().manual_seed(seed))
        assert torch.equal(view, expected), seed
        views.add(view.sum().item())
    assert len(views) > 2, "crops and flips vary"


def test_a_forkserver_loader_yields_the_batches_of_one_without_processes(frame):
    dataset = ImageDataset(frame, three_crop_transform(32))
    with_processes = make_loader(dataset, 4, num_workers=2)
    assert with_processes.multiprocessing_context is workers.loader_context()
    assert with_processes.multiprocessing_context.get_start_method() == "forkserver"
    pairs = zip(make_loader(dataset, 4, num_workers=0), with_processes, strict=True)
    for (x, y), (x2, y2) in pairs:
        assert torch.equal(x, x2) and torch.equal(y, y2)


def test_batches_are_pinned_for_a_gpu_only():
    assert loader_options(2, torch.device("cuda", 0))["pin_memory"] is True
    assert loader_options(0, torch.device("cpu"))["pin_memory"] is False


def test_a_main_script_is_not_rerun_in_loader_processes(monkeypatch):
    # pythonia's main module is a script whose body serves Node's channel: children must not re-run it
    script = types.ModuleType("__main__")
    script.__file__ = "/somewhere/interface.py"
    script.__spec__ = None
    monkeypatch.setitem(sys.modules, "__main__", script)
    workers._hide_main_script()
    assert not hasattr(script, "__file__")
