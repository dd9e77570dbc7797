"""Plain PyTorch side of bench/embed_tensors.ts: the same resnet18 embedding forward, timed in-process.

With a fifth argument ``pin``, glibc's mmap threshold is first pinned at 1 MiB, as the worker did
until that fix was scoped to evaluation. Prints one JSON line: the median milliseconds of
``repeats`` forwards of a ``batch`` × 3 × ``size`` × ``size`` float32 batch (after two warm-ups),
with ``threads`` torch threads, in evaluation mode without gradients, the classifier replaced by an
identity and the embeddings L2-normalised, as the SDK's Recognizer does.
"""

import ctypes
import ctypes.util
import json
import statistics
import sys
import time

import torch
import torchvision


def main() -> None:
    batch, size, repeats, threads = (int(v) for v in sys.argv[1:5])
    if sys.argv[5:] == ["pin"]:  # the worker's old global setting (bridge/memory.py), to show what it cost
        ctypes.CDLL(ctypes.util.find_library("c")).mallopt(-3, 1 << 20)  # M_MMAP_THRESHOLD = 1 MiB
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = torchvision.models.resnet18()
    model.fc = torch.nn.Identity()
    model.eval()
    x = torch.rand(batch, 3, size, size)
    times = []
    with torch.no_grad():
        for i in range(repeats + 2):
            started = time.perf_counter()
            torch.nn.functional.normalize(model(x), dim=1)
            if i >= 2:
                times.append((time.perf_counter() - started) * 1000)
    print(json.dumps({"medianMs": statistics.median(times), "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
