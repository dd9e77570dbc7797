"""bench/gpu/run.py --smoke: the GPU benchmark's command runs on the CPU and prints its table and JSON."""

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "gpu" / "run.py"


def test_smoke_run_prints_a_table_and_json_of_every_measurement(tmp_path):
    out = subprocess.run(
        [sys.executable, str(SCRIPT), "--smoke", "--json", str(tmp_path / "gpu.json")],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    lines = out.stdout.strip().splitlines()
    header, rule, *rows, last = lines
    assert header.startswith("| model | task | precision | SDK images/s | plain images/s | SDK / plain")
    assert rule.startswith("| --- ")
    assert len(rows) == 4  # resnet18 × (embed, train) × (fp32, bf16)
    result = json.loads(last)
    assert result == json.loads((tmp_path / "gpu.json").read_text())
    assert result["device"] == "cpu" and result["batch"] == 2
    measured = result["results"]
    assert {(r["task"], r["precision"], r["impl"]) for r in measured} == {
        (task, precision, impl)
        for task in ("embed", "train")
        for precision in ("fp32", "bf16")
        for impl in ("sdk", "plain")
    }
    assert all(r["imagesPerSec"] > 0 and r["steps"] >= 1 for r in measured)
