"""CSV data sets and the image pipeline: the only place images are decoded.

TypeScript never sees pixels: it names a CSV (``image`` and ``label`` columns by default,
relative image paths resolved against the CSV's folder) and the worker reads, checks and
decodes. Every problem is reported with the CSV row it comes from, up front where that is
cheap (columns, empty labels, missing files) and with the file's path when an image turns
out undecodable.
"""

from __future__ import annotations

import functools
import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torchvision.io import ImageReadMode, decode_image

from bridge.errors import BridgeValidationError
from data.workers import loader_context, watch_worker

# torchvision 0.29 deprecates its decoders in favour of TorchCodec; they are still the pinned,
# tested path here (the issue asks for torchvision's decoding), so the notice is not repeated to users.
warnings.filterwarnings("ignore", message="The image decoding and encoding capabilities", category=DeprecationWarning)


@dataclass(frozen=True)
class DatasetSpec:
    """Where a data set is: a CSV and the names of its two columns."""

    csv: str
    image_column: str
    label_column: str

    @staticmethod
    def from_json(obj: dict[str, Any], path: str = "dataset") -> DatasetSpec:
        """Parse the resolved ``DatasetRef`` TypeScript sends: ``csv`` (absolute), ``imageColumn``, ``labelColumn``."""
        if not isinstance(obj, dict) or not all(
            isinstance(obj.get(key), str) for key in ("csv", "imageColumn", "labelColumn")
        ):  # a check of the message's shape, not a default: a missing key is refused
            raise BridgeValidationError(
                f"a data set needs 'csv', 'imageColumn' and 'labelColumn' strings, got {obj!r}", path=path
            )
        return DatasetSpec(obj["csv"], obj["imageColumn"], obj["labelColumn"])


def read_csv(spec: DatasetSpec, path: str = "dataset", check_files: bool = True) -> pd.DataFrame:
    """Read and check a data set CSV; the ``image`` column comes back as absolute paths.

    Raises:
        BridgeValidationError: naming the CSV row of a missing column, an empty label or a missing file.
    """
    if not os.path.isfile(spec.csv):
        what = "is a folder, not a CSV file" if os.path.isdir(spec.csv) else "CSV file not found"
        raise BridgeValidationError(f"{what}: {spec.csv}", path=f"{path}.csv")
    try:
        # labels keep the type pandas infers (as recognite reads them): int labels sort as ints
        df = pd.read_csv(spec.csv, keep_default_na=False)
    except Exception as exc:
        raise BridgeValidationError(f"cannot read {spec.csv} as CSV: {exc}", path=f"{path}.csv") from None
    for column, option in ((spec.image_column, "imageColumn"), (spec.label_column, "labelColumn")):
        if column not in df.columns:
            raise BridgeValidationError(
                f"{spec.csv} has no column {column!r} (its columns: {', '.join(map(str, df.columns))}); "
                f"set {option} to the right name",
                path=f"{path}.{option}",
            )
    if len(df) == 0:
        raise BridgeValidationError(f"{spec.csv} has no rows: the data set is empty", path=f"{path}.csv")
    folder = os.path.dirname(os.path.abspath(spec.csv))
    problems = []
    images = []
    for i, (image, label) in enumerate(zip(df[spec.image_column], df[spec.label_column], strict=True)):
        row = i + 2  # 1-based, after the header line
        if str(label).strip() == "":
            problems.append(f"row {row}: empty label")
        image = str(image)
        full = image if os.path.isabs(image) else os.path.join(folder, image)
        if image.strip() == "":
            problems.append(f"row {row}: empty image path")
        elif check_files and not os.path.isfile(full):
            problems.append(f"row {row}: {not_a_file(full)}: {full}")
        images.append(full)
    if problems:
        shown = "; ".join(problems[:10]) + (f"; … {len(problems) - 10} more" if len(problems) > 10 else "")
        raise BridgeValidationError(f"{spec.csv}: {shown}", path=f"{path}.csv")
    out = pd.DataFrame({"image": images, "label": df[spec.label_column].to_numpy()})
    out["row"] = range(2, len(out) + 2)
    return out


def not_a_file(path: str) -> str:
    """Why ``path`` cannot be read as an image file."""
    return "not a regular file (a folder or a device)" if os.path.exists(path) else "image file not found"


# PIL's own decompression-bomb check raises inside Image.open, before the size can be read; the limit
# below is enforced from the header instead, with a message that says what to do.
Image.MAX_IMAGE_PIXELS = None


def max_image_pixels() -> int:
    """The most pixels an image may have ($RECOGNITE_MAX_IMAGE_PIXELS, default PIL's 89,478,485 ≈ 9459²)."""
    return int(os.environ.get("RECOGNITE_MAX_IMAGE_PIXELS", "89478485"))


def load_image(path: str, row: int | str) -> torch.Tensor:
    """Decode a JPEG or PNG as 3 × H × W uint8 (grayscale made RGB, alpha dropped).

    ``row`` says where the path came from in errors: a CSV row number, or a label such as ``paths[3]``.
    The header is read first, so an image too big to decode safely (a small file can hold gigapixels)
    is refused before any pixel is allocated.
    """
    where = f"CSV row {row}" if isinstance(row, int) else row
    try:
        with Image.open(path) as header:  # reads the header only
            width, height = header.size
    except Exception:
        width = height = 0  # not an image PIL knows: decode_image says what it is below
    limit = max_image_pixels()
    if width * height > limit:
        raise BridgeValidationError(
            f"image {path} ({where}) is {width} × {height} = {width * height:,} pixels, above the limit of {limit:,}: "
            "shrink it, or raise RECOGNITE_MAX_IMAGE_PIXELS if you trust the file",
            path="dataset",
        )
    try:
        return decode_image(path, mode=ImageReadMode.RGB)
    except Exception as exc:
        reason = str(exc).split(".cpp:")[-1].split(", ", 1)[-1] if ".cpp:" in str(exc) else str(exc)  # no build paths
        raise BridgeValidationError(f"cannot decode image {path} ({where}): {reason}", path="dataset") from None


def sorted_labels(frame: pd.DataFrame) -> list[Any]:
    """The distinct labels as plain Python values, sorted (as strings when types are mixed)."""
    labels = frame["label"].unique().tolist()
    try:
        return sorted(labels)
    except TypeError:
        return sorted(labels, key=str)


def item_seed(seed: int, row: int) -> int:
    """A 63-bit seed for the random view of ``row`` in the epoch whose seed is ``seed``.

    ``SeedSequence`` mixes both numbers, so (epoch e, row 1) and (epoch e + 1, row 0) differ.
    """
    return int(np.random.SeedSequence([seed, row]).generate_state(2, dtype=np.uint64)[0] >> np.uint64(1))


class ImageDataset(Dataset):
    """Rows of a checked CSV, decoded and transformed on access; labels as class indices.

    A key is a row index, or ``(seed, row)`` for a random transform (``TrainTransform``): its draws
    then come from a generator seeded by ``item_seed(seed, row)``, so a row's view depends on the
    epoch's seed and the row alone, not on which loader process decodes it, nor on ``numWorkers``.
    """

    def __init__(
        self, frame: pd.DataFrame, transform: Callable[..., torch.Tensor], classes: list[str] | None = None
    ) -> None:
        """``classes`` fixes the label → index mapping (sorted labels by default)."""
        self.frame = frame.reset_index(drop=True)
        self.classes = classes if classes is not None else sorted_labels(self.frame)
        index = {c: i for i, c in enumerate(self.classes)}
        self.targets = [index.get(label, -1) for label in self.frame["label"]]
        self.transform = transform

    def __len__(self) -> int:
        """Number of rows."""
        return len(self.frame)

    def __getitem__(self, key: int | tuple[int, int]) -> tuple[torch.Tensor, int]:
        """The transformed image of a row and its class index (see the class for the keys)."""
        if isinstance(key, tuple):
            seed, i = key
            generator = torch.Generator().manual_seed(item_seed(seed, i))
            return self.transform(self._image(i), generator), self.targets[i]
        return self.transform(self._image(key)), self.targets[key]

    def _image(self, i: int) -> torch.Tensor:
        row = self.frame.iloc[i]
        return load_image(row["image"], str(row["where"]) if "where" in row.index else int(row["row"]))


def loader_options(num_workers: int, device: torch.device) -> dict[str, Any]:
    """DataLoader settings every loader shares: where its processes come from, and pinned batches for a GPU.

    Pinned (page-locked) batches let the copy to the GPU run asynchronously (``non_blocking``).
    Each loader gets its own generator for the base seed it draws, so making one never moves torch's
    global generator, which other jobs' models draw from.
    """
    options: dict[str, Any] = {
        "num_workers": num_workers,
        "pin_memory": device.type == "cuda",
        "generator": torch.Generator().manual_seed(0),
    }
    if num_workers > 0:
        options["multiprocessing_context"] = loader_context()
        options["worker_init_fn"] = functools.partial(watch_worker, os.getpid())  # loaders die with the worker
    return options


def make_loader(dataset: Dataset, batch_size: int, num_workers: int, device: torch.device | None = None) -> DataLoader:
    """A DataLoader over ``dataset`` in row order (embedding, evaluation): nothing random happens in it.

    ``device``: where the batches go (pinned memory for a GPU); None: the CPU.
    """
    options = loader_options(num_workers, device if device is not None else torch.device("cpu"))
    return DataLoader(dataset, batch_size=batch_size, shuffle=False, drop_last=False, **options)
