"""Evaluation's block loop three ways: what each block's results do to glibc's heap, and the time.

Run: node scripts/py.mjs bench/evaluate_heap.py placed|kept|trim [queries] [gallery]   (default 3000 100000)
- placed: each block writes its per-query stats into arrays made once (per_query.BlockStats, the SDK);
- kept: each block's stats kept as their own small tensors and joined at the end (the SDK before);
- trim: kept, plus malloc_trim after every block (the SDK's earlier fix for the growth "kept" shows).
Prints the seconds and the extra peak resident memory of the loop alone (VmHWM reset before it).
"""

import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "py_bridge"))

from evaluate_scale import make_data, status  # noqa: E402

from bridge.memory import release_free_heap  # noqa: E402
from evaluation.per_query import BlockStats, chunk_stats  # noqa: E402
from evaluation.run import auto_chunk  # noqa: E402
from evaluation.scoring import encode_labels, score_chunks  # noqa: E402


def main() -> None:
    mode = sys.argv[1]
    nq, ng = (int(v) for v in (sys.argv[2:4] or ["3000", "100000"]))
    q, q_labels, g, g_labels = make_data(nq, ng, 512, 1000)
    (q_ids, g_ids), _ = encode_labels(q_labels.tolist(), g_labels.tolist())
    chunk = auto_chunk(ng)
    Path("/proc/self/clear_refs").write_text("5")
    base = status("VmRSS")
    started = time.perf_counter()
    if mode == "placed":
        blocks = BlockStats(nq)
        for start, scores in score_chunks(q, g, "cosine", chunk):
            blocks.add(start, chunk_stats(scores, q_ids[start : start + scores.shape[0]], g_ids, 5))
            del scores
        _ = blocks.result()
    else:
        parts = []
        for start, scores in score_chunks(q, g, "cosine", chunk):
            parts.append(chunk_stats(scores, q_ids[start : start + scores.shape[0]], g_ids, 5))
            del scores
            if mode == "trim":
                release_free_heap()
        _ = {key: torch.cat([p[key] for p in parts]) for key in parts[0]}  # the join, as the SDK did
    seconds = time.perf_counter() - started
    extra = (status("VmHWM") - base) / 2**20
    print(f"{mode}: {seconds:.1f} s, {extra:.0f} MiB extra peak, blocks of {chunk} queries")


if __name__ == "__main__":
    main()
