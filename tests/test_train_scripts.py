"""The prepared GPU training script runs its whole logic on the CPU (`--cpu-check`: tiny shapes, fp32, no compile):
every run trains through the package's trainer and is reported with throughput, MFU and the loss."""
import json, math, os, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

def test_gpu_script_cpu_check(tmp_path):
    r = subprocess.run([sys.executable, str(ROOT/"bench"/"gpu_train.py"), "--cpu-check", "--json", str(tmp_path/"out.json")],
                       capture_output=True, text=True, timeout=600, env={**os.environ, "TINYSTORIES_PROGRESS": "0"})
    assert r.returncode == 0, r.stderr[-3000:]
    assert "tokens/s" in r.stdout and "MFU" in r.stdout and "FlexAttention vs SDPA" in r.stdout, r.stdout
    out = json.loads((tmp_path/"out.json").read_text())
    assert [x["name"] for x in out["runs"]] == ["33M sdpa", "33M flex", "15M"]
    assert out["precision"] == {"dtype": "fp32", "reason": "as asked"}
    for x in out["runs"]:
        assert x["steps"] == 4 and x["tokens_per_s"] > 0 and x["mfu"] > 0 and math.isfinite(x["loss_last"])
