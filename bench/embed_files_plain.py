"""Plain side of bench/embed_files.ts: embed a CSV's images with a hand-written torchvision DataLoader.

Usage: embed_files_plain.py CSV SIZE BATCH WORKERS THREADS. Prints one JSON line: the milliseconds of
one pass (loader start, decode, resize, centre crop, normalise, forward, L2-normalise, concatenate), as a
user would write it without the SDK: torchvision's decoder and v2 transforms, resnet18 without its
classification layer, evaluation mode, no gradients.
"""

import json
import os
import sys
import time

import pandas as pd
import torch
import torchvision
from torch.utils.data import DataLoader, Dataset
from torchvision.io import ImageReadMode, decode_image
from torchvision.transforms import v2


class Images(Dataset):
    def __init__(self, csv: str, size: int) -> None:
        folder = os.path.dirname(os.path.abspath(csv))
        self.paths = [os.path.join(folder, p) for p in pd.read_csv(csv)["image"]]
        self.transform = v2.Compose(
            [
                v2.Resize(size, antialias=True),
                v2.CenterCrop(size),
                v2.ToDtype(torch.float32, scale=True),
                v2.Normalize((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
            ]
        )

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> torch.Tensor:
        return self.transform(decode_image(self.paths[i], mode=ImageReadMode.RGB))


def main() -> None:
    csv = sys.argv[1]
    size, batch, workers, threads = (int(v) for v in sys.argv[2:6])
    torch.set_num_threads(threads)
    model = torchvision.models.resnet18()
    model.fc = torch.nn.Identity()
    model.eval()
    dataset = Images(csv, size)
    started = time.perf_counter()
    out = []
    with torch.no_grad():
        for x in DataLoader(dataset, batch_size=batch, num_workers=workers):
            out.append(torch.nn.functional.normalize(model(x), dim=1))
    torch.cat(out)
    print(json.dumps({"ms": (time.perf_counter() - started) * 1000}))


if __name__ == "__main__":
    main()
