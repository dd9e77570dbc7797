"""GPU readiness check: the real worker, driven through ``dispatch`` as TypeScript drives it, on CUDA.

Run on a machine with a GPU (``python3 bench/gpu_check.py``; no Node needed): it boots the worker
with ``device: 'auto'`` (or the device given as the first argument), generates a small synthetic
data set, splits it by identity, trains resnet18 for a few epochs and evaluates unseen identities.
It prints one JSON line per step: unseen top-1 (devices agree only loosely: GPU kernels differ from
CPU ones), seconds per epoch, whether a second run with the same seeds gave the same losses, and
whether the checkpoint written there loads with a plain ``torch.load`` in a process that sees no GPU.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "py_bridge"))

import worker  # noqa: E402 - after the path is set, as pythonia imports it


def call(method: str, payload: dict[str, Any]) -> Any:
    out = json.loads(worker.dispatch(method, json.dumps(payload)))
    if not out["ok"]:
        raise RuntimeError(f"{method}: {out['error']['type']}: {out['error']['message']}")
    return out["result"]


def run_job(method: str, payload: dict[str, Any]) -> Any:
    job = call(method, payload)["job"]
    while True:
        poll = call("job.poll", {"id": job, "waitMs": 0})
        if poll["state"] == "done":
            return poll["result"]
        if poll["state"] != "running":
            raise RuntimeError(f"{method}: job {poll['state']}: {poll.get('error')}")
        time.sleep(0.05)


def ref(csv: str) -> dict[str, str]:
    return {"csv": csv, "imageColumn": "image", "labelColumn": "label"}


def train_and_evaluate(parts: dict[str, Any], epochs: int, workers: int, checkpoint_dir: str | None) -> dict[str, Any]:
    config = {"modelName": "resnet18", "numClasses": parts["train"]["labels"], "weights": None}
    config |= {"weightsPath": None, "clfBias": False, "normalize": True, "seed": 0}
    model = call("recognizer.create", {"config": config})["id"]
    fit = {
        "train": ref(parts["train"]["csv"]),
        "validation": {"gallery": ref(parts["gallery"]["csv"]), "query": ref(parts["query"]["csv"])},
        "epochs": epochs,
        "batchSize": 64,
        "lr": 0.05,
        "momentum": 0.9,
        "weightDecay": 5e-4,
        "size": 64,
        "hflip": False,
        "logitScale": 16,
        "margin": 0.2,
        "seed": 0,
        "numWorkers": workers,
        "precision": "fp32",
        "checkpointDir": checkpoint_dir,
        "resumeFrom": None,
        "distributed": None,
    }
    started = time.perf_counter()
    result = run_job("recognizer.fit", {"id": model, "options": fit})
    seconds = time.perf_counter() - started
    options = {"metric": "cosine", "k": 5, "averageReferences": False, "tta": "none", "topMatches": False}
    options |= {"perQuery": False, "returnScores": False, "curves": False, "returnEmbeddings": False}
    options |= {"chunkSize": None, "size": 64, "batchSize": 256, "numWorkers": workers, "precision": "fp32"}
    options |= {"rerank": None, "queryExpansion": None}
    report = run_job(
        "recognizer.evaluate",
        {
            "id": model,
            "gallery": {"dataset": ref(parts["gallery"]["csv"])},
            "query": {"dataset": ref(parts["query"]["csv"])},
            "options": options,
        },
    )
    call("recognizer.dispose", {"id": model})
    return {
        "losses": [h["loss"] for h in result["history"]],
        "top1": report["accuracy"],
        "mAP": report["mAP"],
        "secondsPerEpoch": seconds / epochs,
    }


def main() -> None:
    device = sys.argv[1] if len(sys.argv) > 1 else "auto"
    quick = os.environ.get("GPU_CHECK_QUICK") == "1"  # a smoke run of the script itself, on any machine
    identities, epochs = (20, 1) if quick else (100, 3)
    workers = max(0, min(8, (os.cpu_count() or 2) - 1))
    with tempfile.TemporaryDirectory() as tmp:
        booted = call(
            "boot",
            {
                "logPath": str(Path(tmp) / "worker.log"),
                "device": device,
                "threads": None,
                "shmDir": tmp,
                "prefix": "recognite-gpucheck",
                "primaryBytes": 64 << 20,
                "testHandlers": False,
            },
        )
        keys = ("device", "torch", "gpuName", "gpuMemoryBytes", "cudaVersion", "cudnnVersion")
        print(json.dumps({"step": "boot", **{k: booted[k] for k in keys}}), flush=True)
        data = run_job(
            "data.synthetic",
            {
                "outDir": f"{tmp}/ds",
                "identities": identities,
                "samplesPerIdentity": 20,
                "size": 64,
                "seed": 0,
                "format": "png",
            },
        )
        split = {"kind": "trainVal", "dataset": ref(data["csvPath"]), "outDir": f"{tmp}/parts"}
        split |= {"numFolds": 5, "valFold": 0, "numRefs": 1, "seed": 0, "refSeed": 0}
        parts = call("data.split", split)["parts"]
        first = train_and_evaluate(parts, epochs, workers, f"{tmp}/ckpt")
        print(json.dumps({"step": f"fit+evaluate on {device}", **first}), flush=True)
        second = train_and_evaluate(parts, epochs, workers, None)
        same = first["losses"] == second["losses"]
        print(json.dumps({"step": "same seeds again", "sameLosses": same, "losses": second["losses"]}), flush=True)
        # a checkpoint written on this device must load with a plain torch.load in a process without a GPU
        probe = (
            "import sys, torch; s = torch.load(sys.argv[1], weights_only=True); "
            "print(next(iter(s['model'].values())).device)"
        )
        env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
        loaded = subprocess.run(
            [sys.executable, "-c", probe, f"{tmp}/ckpt/last.pt"], env=env, capture_output=True, text=True, check=False
        )
        print(
            json.dumps(
                {
                    "step": "checkpoint loads without a GPU",
                    "ok": loaded.returncode == 0,
                    "device": loaded.stdout.strip(),
                    "error": loaded.stderr[-300:],
                }
            ),
            flush=True,
        )
        call("shutdown", {})


if __name__ == "__main__":
    main()
