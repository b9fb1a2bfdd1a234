"""The prepared GPU training script runs its whole logic on the CPU (`--cpu-check`: tiny preset, fp32, no compile):
it trains through the package's trainer, writes a run directory when asked, and reports throughput and MFU."""
import json, math, os, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

def test_gpu_script_cpu_check(tmp_path):
    r = subprocess.run([sys.executable, str(ROOT/"bench"/"gpu_train.py"), "--cpu-check", "--out", str(tmp_path/"run"),
                        "--json", str(tmp_path/"out.json")], capture_output=True, text=True, timeout=600,
                       env={**os.environ, "TINYSTORIES_PROGRESS": "0"})
    assert r.returncode == 0, r.stderr[-3000:]
    assert "throughput:" in r.stdout and "MFU" in r.stdout, r.stdout
    out = json.loads((tmp_path/"out.json").read_text())
    assert out["steps_timed"] == 4 and out["tokens_per_step"] == 4 * 2 * 64
    assert out["tokens_per_s"] > 0 and 0 < out["mfu_measured"] < 1 and math.isfinite(out["final_train_loss"])
    assert (tmp_path/"run"/"ckpt"/"step_0000006"/"meta.json").exists()
    assert len((tmp_path/"run"/"metrics.jsonl").read_text().splitlines()) == 6
