"""Benchmark: searching a large gallery, the SDK's gallery against plain PyTorch, exact and with FAISS IVF.

Run: npm run bench -- --only gallery        (1,000,000 × 512 gallery, 10,000 queries, top-10)
     node scripts/py.mjs bench/gallery_search.py --ng 100000 --nq 1000   (a quicker run)

Data: seeded synthetic clusters (one unit-length centre per label, references and queries scattered
around them, renormalised). Each implementation runs in a fresh process on the same data:
- plain: chunked ``q @ g.T`` and ``topk`` in PyTorch, the same block size (256 MiB of scores);
- sdk exact: py_bridge/gallery's Gallery (backend 'exact'): add, then identify (top-k and verdicts);
- sdk IVF: the same Gallery with backend 'faiss' and an IVF index (IVF2048,SQ8: 8-bit codes, because
  scanning float32 lists is bound by memory bandwidth here): add, train on a sample, identify.
Recall@k of each is measured against the plain exact answer. Peak extra memory is the process's
resident high-water mark after the data was made, minus its resident size then.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "py_bridge"))

NOISE = 0.55  # norm of each embedding's deviation from its identity's centre (which has norm 1)


def status(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise KeyError(field)


def make_data(nq: int, ng: int, dim: int, labels: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Queries, gallery and gallery labels: clusters around seeded unit centres.

    The noise (norm 0.55) puts two images of one identity at cosine ≈ 0.77 and of two identities near 0,
    as a trained recognition model does; noisier clusters need more probes for the same recall (BENCHMARKS.md).
    """
    gen = torch.Generator().manual_seed(0)
    centres = torch.nn.functional.normalize(torch.randn(labels, dim, generator=gen), dim=1)
    g_labels = torch.randint(0, labels, (ng,), generator=gen)
    q_labels = torch.randint(0, labels, (nq,), generator=gen)
    g = torch.randn(ng, dim, generator=gen).mul_(NOISE / dim**0.5).add_(centres[g_labels])
    q = torch.randn(nq, dim, generator=gen).mul_(NOISE / dim**0.5).add_(centres[q_labels])
    return torch.nn.functional.normalize(q, dim=1), torch.nn.functional.normalize(g, dim=1), g_labels


def plain(q: torch.Tensor, g: torch.Tensor, k: int) -> torch.Tensor:
    """Exact cosine top-k the way one writes it in PyTorch: blocks of query rows against the whole gallery."""
    chunk = max(1, min(4096, 256 * 2**20 // (4 * g.shape[0])))
    rows = torch.empty(q.shape[0], k, dtype=torch.int64)
    g_t = g.T
    for start in range(0, q.shape[0], chunk):
        rows[start : start + chunk] = torch.topk(q[start : start + chunk] @ g_t, k, dim=1).indices
    return rows


def run_one(impl: str, args: argparse.Namespace, out: Path) -> None:
    torch.set_num_threads(torch.get_num_threads())
    q, g, g_labels = make_data(args.nq, args.ng, args.dim, args.labels)
    Path("/proc/self/clear_refs").write_text("5")  # reset the high-water mark: only the search counts
    base = status("VmRSS")
    result: dict[str, float | str] = {"impl": impl}
    if impl == "plain":
        started = time.perf_counter()
        rows = plain(q, g, args.k)
        result["searchSeconds"] = time.perf_counter() - started
    else:
        from gallery.gallery import Gallery

        exact = impl == "exact"
        config = {
            "metric": "cosine",
            "backend": "exact" if exact else "faiss",
            "index": "Flat" if exact else args.index,
            "nprobe": None if exact else args.nprobe,
            "efSearch": None,
            "averageReferences": False,
            "dim": args.dim,
        }
        gallery = Gallery(config, None)
        started = time.perf_counter()
        gallery.add(g, g_labels.tolist())
        if not exact:
            gallery.train(args.train_sample, 0)
        result["buildSeconds"] = time.perf_counter() - started
        del g
        started = time.perf_counter()
        answer = gallery.identify(q, args.k, None, "top1")
        result["searchSeconds"] = time.perf_counter() - started
        rows = answer["rows"].long()
    result["extraPeakBytes"] = status("VmHWM") - base
    np.save(out, rows.numpy())
    print(json.dumps(result))


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(a) & set(b)) / len(b) for a, b in zip(found.tolist(), truth.tolist(), strict=True)]))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--nq", type=int, default=10_000)
    ap.add_argument("--ng", type=int, default=1_000_000)
    ap.add_argument("--dim", type=int, default=512)
    ap.add_argument("--labels", type=int, default=20_000)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--index", default="IVF2048,SQ8")
    ap.add_argument("--nprobe", type=int, default=16)
    ap.add_argument("--train-sample", type=int, default=100_000)
    ap.add_argument("--run", choices=["plain", "exact", "ivf"])
    ap.add_argument("--out")
    ap.add_argument("--json", help="also write the measurements here")
    args = ap.parse_args()
    if os.environ.get("BENCH_QUICK") == "1":  # a smoke-sized run for `npm run bench -- --quick`
        args.nq, args.ng, args.labels, args.index, args.nprobe, args.train_sample = (
            200,
            20_000,
            400,
            "IVF64,Flat",
            8,
            10_000,
        )
    if args.run:
        run_one(args.run, args, Path(args.out))
        return
    results, rows = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for impl in ("plain", "exact", "ivf"):
            out = Path(tmp) / f"{impl}.npy"
            cmd = [sys.executable, __file__, "--run", impl, "--out", str(out)] + [
                f"--{name.replace('_', '-')}={getattr(args, name)}"
                for name in ("nq", "ng", "dim", "labels", "k", "index", "nprobe", "train_sample")
            ]
            results[impl] = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
            rows[impl] = np.load(out)
    p, e, i = results["plain"], results["exact"], results["ivf"]
    e["recall"], i["recall"] = recall(rows["exact"], rows["plain"]), recall(rows["ivf"], rows["plain"])
    exact_ratio = e["searchSeconds"] / p["searchSeconds"]
    speedup = e["searchSeconds"] / i["searchSeconds"]
    summary = {
        "nq": args.nq,
        "ng": args.ng,
        "dim": args.dim,
        "k": args.k,
        "index": args.index,
        "nprobe": args.nprobe,
        "threads": torch.get_num_threads(),
        "exactVsPlain": exact_ratio,
        "ivfSpeedup": speedup,
        "results": results,
    }
    gib = 2**30
    lines = [
        "```sh\nnpm run bench -- --only gallery    # or: node scripts/py.mjs bench/gallery_search.py --ng 100000\n```",
        "",
        f"{args.ng:,} references × {args.dim}-d ({args.labels:,} seeded clusters), {args.nq:,} queries, top-{args.k}, "
        f"cosine, {summary['threads']} torch threads; each implementation in a fresh process on the same data (the "
        "SDK's gallery called in Python: no Node in the loop). Recall@k is against the plain exact answer.",
        "",
        "| implementation | build (add, train) s | search s | queries/s | recall@k | extra peak memory |",
        "| --- | --- | --- | --- | --- | --- |",
        f"| plain PyTorch, chunked `q @ g.T` + `topk` | – | {p['searchSeconds']:.1f} | "
        f"{args.nq / p['searchSeconds']:,.0f} | 1 | {p['extraPeakBytes'] / gib:.2f} GiB |",
        f"| SDK gallery, exact | {e['buildSeconds']:.1f} | {e['searchSeconds']:.1f} | "
        f"{args.nq / e['searchSeconds']:,.0f} | {e['recall']:.4f} | {e['extraPeakBytes'] / gib:.2f} GiB |",
        f"| SDK gallery, FAISS `{args.index}`, nprobe {args.nprobe}, trained on {args.train_sample:,} | "
        f"{i['buildSeconds']:.1f} | {i['searchSeconds']:.2f} | {args.nq / i['searchSeconds']:,.0f} | "
        f"{i['recall']:.4f} | "
        f"{i['extraPeakBytes'] / gib:.2f} GiB |",
        "",
        f"Exact SDK / plain: **{exact_ratio:.2f}×** (goal ≤ 1.1×). IVF: recall@{args.k} **{i['recall']:.3f}** "
        f"(goal ≥ 0.95), **{speedup:.1f}×** faster than exact (goal ≥ 10×). The SDK's extra memory includes its own "
        "copy of the references (stored ready for the metric).",
    ]
    markdown = "\n".join(lines)
    print(markdown)
    print(json.dumps(summary))
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=2))
    size = f"{args.ng / 1e6:g}M × {args.dim}, {args.nq // 1000}k queries"
    bench_rows = [
        {
            "benchmark": "gallery",
            "work": f"{size}, exact top-{args.k}",
            "goal": "≤ 1.1× plain",
            "measured": f"{exact_ratio:.2f}× ({e['searchSeconds']:.1f} vs {p['searchSeconds']:.1f} s)",
            "met": exact_ratio <= 1.1 and e["recall"] == 1.0,
        },
        {
            "benchmark": "gallery",
            "work": f"{size}, FAISS {args.index} nprobe {args.nprobe}",
            "goal": "recall@10 ≥ 0.95, ≥ 10× exact",
            "measured": f"recall {i['recall']:.3f}, {speedup:.1f}× faster",
            "met": i["recall"] >= 0.95 and speedup >= 10,
        },
    ]
    if os.environ.get("BENCH_REPORT"):  # the contract of `npm run bench` (bench/lib/contract.ts)
        Path(os.environ["BENCH_REPORT"]).write_text(markdown + "\n")
    if os.environ.get("BENCH_SUMMARY"):
        Path(os.environ["BENCH_SUMMARY"]).write_text(json.dumps(bench_rows, indent=2))


if __name__ == "__main__":
    main()
