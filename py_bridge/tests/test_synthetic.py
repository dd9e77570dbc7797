"""synthetic.py: deterministic files, a correct CSV, decodable images, identities that look different."""

import csv
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from torchvision.io import decode_image

from bridge.errors import BridgeValidationError
from data import synthetic

# torchvision 0.29 deprecates its decoders in favour of TorchCodec; they still decode what we need here.
pytestmark = pytest.mark.filterwarnings("ignore:The image decoding and encoding:DeprecationWarning")


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _rows(csv_path: str) -> list[dict[str, str]]:
    with open(csv_path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _load(path: Path) -> torch.Tensor:
    return decode_image(str(path))


def test_same_seed_same_bytes_other_seed_differs(tmp_path):
    first = synthetic.generate(tmp_path / "a", 4, 3, size=32, seed=11)
    synthetic.generate(tmp_path / "b", 4, 3, size=32, seed=11)
    synthetic.generate(tmp_path / "c", 4, 3, size=32, seed=12)
    a, b, c = (_files(tmp_path / name) for name in "abc")
    assert len(a) == 4 * 3 + 1
    assert a == b
    assert a["dataset.csv"] == c["dataset.csv"]  # same names and labels
    images = [name for name in a if name.endswith(".png")]
    assert all(a[name] != c[name] for name in images)
    assert first["csvPath"] == str((tmp_path / "a" / "dataset.csv").resolve())


def test_same_seed_same_bytes_jpg(tmp_path):
    synthetic.generate(tmp_path / "a", 2, 2, size=24, seed=3, image_format="jpg")
    synthetic.generate(tmp_path / "b", 2, 2, size=24, seed=3, image_format="jpeg")
    a, b = _files(tmp_path / "a"), _files(tmp_path / "b")
    assert a == b
    assert sorted(a) == [
        "dataset.csv",
        "images/id0000/0.jpg",
        "images/id0000/1.jpg",
        "images/id0001/0.jpg",
        "images/id0001/1.jpg",
    ]
    assert decode_image(str(tmp_path / "a" / "images/id0001/1.jpg")).shape == (3, 24, 24)


def test_identities_do_not_depend_on_counts(tmp_path):
    """An identity's images depend on the seed and size only: a smaller set is a prefix of a larger one."""
    synthetic.generate(tmp_path / "small", 3, 2, size=16, seed=5)
    synthetic.generate(tmp_path / "large", 5, 4, size=16, seed=5)
    small, large = _files(tmp_path / "small"), _files(tmp_path / "large")
    for name, data in small.items():
        if name != "dataset.csv":
            assert large[name] == data


def test_csv_and_summary(tmp_path):
    calls = []
    summary = synthetic.generate(
        tmp_path, 12, 5, size=40, seed=0, progress=lambda done, total: calls.append((done, total))
    )
    assert summary == {
        "csvPath": str((tmp_path / "dataset.csv").resolve()),
        "imageDir": str((tmp_path / "images").resolve()),
        "numImages": 60,
        "identities": 12,
        "samplesPerIdentity": 5,
        "size": 40,
        "format": "png",
        "seed": 0,
    }
    rows = _rows(summary["csvPath"])
    assert list(rows[0]) == ["image", "label"]
    assert len(rows) == 60
    assert rows[0] == {"image": "images/id0000/0.png", "label": "id0000"}
    assert rows[-1] == {"image": "images/id0011/4.png", "label": "id0011"}
    labels = [row["label"] for row in rows]
    assert sorted(set(labels)) == [f"id{k:04d}" for k in range(12)]
    assert all(labels.count(label) == 5 for label in set(labels))
    for row in rows:
        path = tmp_path / row["image"]
        assert not Path(row["image"]).is_absolute() and path.is_file()
        assert path.parent.name == row["label"]
    # every image on disk is in the CSV
    assert len(list((tmp_path / "images").rglob("*.png"))) == 60
    # progress: increasing, ends at total
    assert calls and calls[-1] == (60, 60)
    assert [done for done, _ in calls] == sorted({done for done, _ in calls})
    assert all(total == 60 for _, total in calls)


def test_csv_reads_with_pandas_as_recognite_does(tmp_path):
    pd = pytest.importorskip("pandas")
    summary = synthetic.generate(tmp_path, 3, 2, size=8)
    df = pd.read_csv(summary["csvPath"])
    assert list(df.columns) == ["image", "label"] and len(df) == 6


def test_label_width_grows_beyond_four_digits():
    assert synthetic.label_name(7, 100) == "id0007"
    assert synthetic.label_name(7, 10_000) == "id0007"
    assert synthetic.label_name(7, 10_001) == "id00007"


@pytest.mark.parametrize("size", [8, 33, 64])
def test_images_decode_as_uint8_chw(tmp_path, size):
    summary = synthetic.generate(tmp_path, 2, 2, size=size, seed=1)
    for row in _rows(summary["csvPath"]):
        image = _load(tmp_path / row["image"])
        assert image.dtype == torch.uint8
        assert image.shape == (3, size, size)
        assert image.float().std() > 5  # not a flat image


def test_identities_differ_more_than_samples_of_one(tmp_path):
    identities, samples = 12, 6
    summary = synthetic.generate(tmp_path, identities, samples, size=48, seed=2)
    by_label: dict[str, list[torch.Tensor]] = {}
    for row in _rows(summary["csvPath"]):
        by_label.setdefault(row["label"], []).append(_load(tmp_path / row["image"]).float())
    stacks = [torch.stack(images) for images in by_label.values()]

    def mean_distance(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return (x[:, None] - y[None]).abs().mean(dim=(2, 3, 4))

    within = torch.stack([mean_distance(s, s)[~torch.eye(samples, dtype=torch.bool)].mean() for s in stacks]).mean()
    between = torch.stack(
        [mean_distance(stacks[i], stacks[j]).mean() for i in range(identities) for j in range(i + 1, identities)]
    ).mean()
    print(f"mean pixel distance: within an identity {within:.1f}, between identities {between:.1f}")
    assert within < 0.75 * between

    # and nearest-neighbour identification on raw pixels already beats chance by far
    flat = torch.cat(stacks).flatten(1)
    labels = torch.arange(identities).repeat_interleave(samples)
    distances = torch.cdist(flat, flat)
    distances.fill_diagonal_(float("inf"))
    accuracy = (labels[distances.argmin(dim=1)] == labels).float().mean().item()
    print(f"raw-pixel 1-NN accuracy: {accuracy:.2f} (chance {1 / identities:.2f})")
    assert accuracy > 3 / identities


def test_samples_of_one_identity_are_not_identical(tmp_path):
    summary = synthetic.generate(tmp_path, 2, 4, size=32, seed=0)
    images = [_load(tmp_path / row["image"]) for row in _rows(summary["csvPath"])[:4]]
    for i in range(4):
        for j in range(i + 1, 4):
            assert not torch.equal(images[i], images[j])


def test_timing_100_identities_20_samples_64px(tmp_path):
    start = time.perf_counter()
    summary = synthetic.generate(tmp_path, 100, 20, size=64, seed=0)
    seconds = time.perf_counter() - start
    print(f"generated {summary['numImages']} images of 64 px in {seconds:.2f} s")
    assert summary["numImages"] == 2000
    assert len(_rows(summary["csvPath"])) == 2000


@pytest.mark.parametrize(
    ("kwargs", "path"),
    [
        ({"identities": 1}, "identities"),
        ({"identities": 0}, "identities"),
        ({"identities": 2.0}, "identities"),
        ({"identities": True}, "identities"),
        ({"samples_per_identity": 0}, "samplesPerIdentity"),
        ({"samples_per_identity": "3"}, "samplesPerIdentity"),
        ({"size": 7}, "size"),
        ({"size": 1025}, "size"),
        ({"size": 64.0}, "size"),
        ({"seed": -1}, "seed"),
        ({"seed": None}, "seed"),
        ({"image_format": "gif"}, "format"),
    ],
)
def test_bad_arguments(tmp_path, kwargs, path):
    args = {"identities": 3, "samples_per_identity": 2, "size": 16} | kwargs
    with pytest.raises(BridgeValidationError) as info:
        synthetic.generate(tmp_path / "out", **args)
    assert info.value.path == path
    assert not (tmp_path / "out").exists()  # nothing written


def test_numpy_integer_arguments_accepted(tmp_path):
    summary = synthetic.generate(tmp_path, np.int64(2), np.int32(1), size=np.int64(8), seed=np.uint32(4))
    assert summary["numImages"] == 2 and isinstance(summary["size"], int)
