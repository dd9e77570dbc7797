"""Plain side of bench/train.ts: recognite's Recognizer and DataFrameDataset in a hand-written training loop.

Usage: train_plain.py CSV SIZE BATCH WORKERS EPOCHS THREADS. Prints one JSON line with each epoch's
seconds. The work matches the SDK's ``fit`` defaults: SGD (lr 0.01, momentum 0.9, weight decay 5e-4),
cross-entropy over the Recognizer's cosine logits scaled by 16, resize + random crop, shuffled batches
with the last partial batch dropped, the loss read back every step for logging.
"""

import json
import os
import sys
import time

import pandas as pd
import torch
from recognite.data import DataFrameDataset
from recognite.model import Recognizer
from torch.utils.data import DataLoader
from torchvision.transforms import v2


def main() -> None:
    csv = sys.argv[1]
    size, batch, workers, epochs, threads = (int(v) for v in sys.argv[2:7])
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    df = pd.read_csv(csv)
    df["image"] = [os.path.join(os.path.dirname(os.path.abspath(csv)), p) for p in df["image"]]
    labels = sorted(df["label"].unique())
    transform = v2.Compose(
        [
            v2.ToImage(),
            v2.Resize(size, antialias=True),
            v2.RandomCrop(size),
            v2.ToDtype(torch.float32, scale=True),
            v2.Normalize((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
        ]
    )
    dataset = DataFrameDataset(df, "label", "image", {label: i for i, label in enumerate(labels)}, transform)
    model = Recognizer("resnet18", num_classes=len(labels))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    loss_fn = torch.nn.CrossEntropyLoss()
    times = []
    for _ in range(epochs):
        started = time.perf_counter()
        model.train()
        total = 0.0
        loader = DataLoader(dataset, batch_size=batch, shuffle=True, num_workers=workers, drop_last=True)
        for x, y in loader:
            loss = loss_fn(16 * model(x), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(y)
        times.append(time.perf_counter() - started)
    print(json.dumps({"epochs": times}))


if __name__ == "__main__":
    main()
