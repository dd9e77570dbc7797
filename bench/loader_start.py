"""How long a DataLoader with one worker process takes to its first batch, by start method.

Run: node scripts/py.mjs bench/loader_start.py fork|forkserver|spawn
The loader runs in a process that has imported torch (as the worker has); the forkserver preloads what
the worker's own (py_bridge/data/workers.py) preloads. Each method is timed twice: the first loader of a
process pays for starting the server, later ones do not. The numbers behind the start-method choice.
"""

import multiprocessing as mp
import sys
import time

import torch
from torch.utils.data import DataLoader, TensorDataset


def main() -> None:
    method = sys.argv[1]
    dataset = TensorDataset(torch.zeros(64, 3, 8, 8))
    context = mp.get_context(method)
    if method == "forkserver":
        context.set_forkserver_preload(["torch", "torchvision.transforms.v2", "pandas"])
    for attempt in ("first loader", "second loader"):
        started = time.perf_counter()
        next(iter(DataLoader(dataset, batch_size=8, num_workers=1, multiprocessing_context=context)))
        print(f"{method}, {attempt}: {time.perf_counter() - started:.2f} s to the first batch")


if __name__ == "__main__":
    main()
