"""bench/gallery_search.py at a small size: the benchmark's command keeps working, and its exact path is exact."""

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "gallery_search.py"


def test_small_run_measures_every_implementation(tmp_path: Path) -> None:
    args = ["--ng", "5000", "--nq", "100", "--dim", "64", "--labels", "200", "--index", "IVF16,Flat"]
    args += ["--nprobe", "4", "--train-sample", "2000", "--json", str(tmp_path / "g.json")]
    out = subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=300, check=True)
    assert "| SDK gallery, exact |" in out.stdout and "| SDK gallery, FAISS `IVF16,Flat`" in out.stdout
    summary = json.loads((tmp_path / "g.json").read_text())
    results = summary["results"]
    # the SDK's exact search finds plain PyTorch's top-k; it renormalises the (unit) references, which may
    # move a score by an ulp, so allow one swap of a near-tie at the 10th place among the 1,000 answers
    assert results["exact"]["recall"] >= 0.999
    assert 0.5 < results["ivf"]["recall"] <= 1.0
    assert all(results[impl]["searchSeconds"] > 0 for impl in ("plain", "exact", "ivf"))
    assert summary["exactVsPlain"] > 0 and summary["ivfSpeedup"] > 0
