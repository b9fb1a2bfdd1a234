"""`train(..., plot=True)` from a plain Python script (no IPython): the final loss plot is saved to RUN/loss.png and one
warning line says where; without a run directory one warning says there is no plot (`tinystories_nb.model.train.LivePlot`)."""
import os, subprocess, sys, textwrap

SCRIPT = textwrap.dedent("""
    import sys
    import numpy as np
    from tinystories_nb.model.train import TokenArrays, TrainConfig, train
    rng = np.random.default_rng(0)
    data = TokenArrays(rng.integers(0, 64, 4000), rng.integers(0, 64, 1000), vocab_size=64)
    cfg = TrainConfig(preset="tiny", max_steps=4, batch_size=2, eval_every=2, eval_tokens=256, device="cpu")
    out = sys.argv[1] if len(sys.argv) > 1 else None
    train(cfg, data=data, out=out, plot=True)
    assert "IPython" not in sys.modules or sys.modules["IPython"].get_ipython() is None
""")


def _run(*args):
    env = {**os.environ, "TINYSTORIES_PROGRESS": "0"}
    env.pop("MPLBACKEND", None)
    return subprocess.run([sys.executable, "-c", SCRIPT, *args], capture_output=True, text=True, env=env, timeout=300)


def test_script_saves_loss_png(tmp_path):
    r = _run(str(tmp_path/"run"))
    assert r.returncode == 0, r.stderr
    png = tmp_path/"run"/"loss.png"
    assert png.exists() and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    lines = [l for l in r.stderr.splitlines() if "loss plot" in l]
    assert len(lines) == 1 and str(png) in lines[0], r.stderr


def test_script_without_out_warns(tmp_path):
    r = _run()
    assert r.returncode == 0, r.stderr
    lines = [l for l in r.stderr.splitlines() if "loss plot" in l]
    assert len(lines) == 1 and "no plot" in lines[0] and "out=" in lines[0], r.stderr
