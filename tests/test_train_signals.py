"""Real signals to a real training process (`tinystories train` in a subprocess): SIGINT/SIGTERM stop it after the
current step with a checkpoint and a clean exit; `--resume` then continues it, and the metrics of the stopped and
resumed halves equal those of an uninterrupted run."""
import os, signal, subprocess, sys, time
from pathlib import Path
import pytest

BIN = Path(sys.executable).parent
STEPS = 100
ARGS = ["--preset", "tiny", "--max-steps", str(STEPS), "--batch-size", "8", "--lr", "3e-3", "--eval-every", "10",
        "--dtype", "fp32", "--device", "cpu"]
ENV = {**os.environ, "TINYSTORIES_PROGRESS": "0", "PYTHONUNBUFFERED": "1"}

@pytest.fixture(scope="module")
def data(tmp_path_factory):
    from tinystories_nb.synth.samples import sample_path
    from tinystories_nb.data.tokenize import PrepareConfig, prepare
    return prepare(sample_path(), tmp_path_factory.mktemp("data"), cfg=PrepareConfig(vocab_size=512)).dir

def _train(data, out, *extra):
    return subprocess.run([str(BIN/"tinystories"), "train", "--data", str(data), "--out", str(out), *ARGS, *extra],
                          env=ENV, capture_output=True, text=True, timeout=300)

def _steps_logged(run: Path) -> int:
    try: lines = (run/"metrics.jsonl").read_text().splitlines()
    except FileNotFoundError: return 0
    return sum('"train_loss"' in l for l in lines[:-1])     # the last line may still be being written

def _metrics(run: Path):
    from tinystories_nb.model.train import read_metrics
    keys = ("step", "train_loss", "lr", "grad_norm", "val_loss", "val_bpb")
    return [{k: r[k] for k in keys if k in r} for r in read_metrics(run)]

@pytest.fixture(scope="module")
def uninterrupted(data, tmp_path_factory):
    run = tmp_path_factory.mktemp("full")/"run"
    r = _train(data, run)
    assert r.returncode == 0, r.stderr
    return _metrics(run)

@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_saves_and_resume_is_exact(data, uninterrupted, tmp_path, sig):
    run = tmp_path/"run"
    p = subprocess.Popen([str(BIN/"tinystories"), "train", "--data", str(data), "--out", str(run), *ARGS],
                         env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while _steps_logged(run) < 3 and p.poll() is None and time.time() < deadline: time.sleep(0.005)
    assert p.poll() is None, f"training ended before it could be interrupted:\n{p.communicate()[1]}"
    p.send_signal(sig)
    out, err = p.communicate(timeout=120)
    assert p.returncode == 128 + sig, (p.returncode, err)
    name = signal.Signals(sig).name
    assert f"stopped by {name}" in out and "--resume" in out, out
    assert "Traceback" not in err, err

    from tinystories_nb.model.checkpoint import Checkpoints, load_model
    latest = Checkpoints(run).latest()
    assert latest is not None and 3 <= latest.step < STEPS, latest
    assert latest.meta["stop_reason"] == name
    stopped = _metrics(run)
    assert stopped[-1]["step"] == latest.step                  # the metrics end where the checkpoint is
    model, tok, meta = load_model(latest.path)                 # the checkpoint written on the way out loads
    assert meta["step"] == latest.step

    r = _train(data, run, "--resume")
    assert r.returncode == 0, r.stderr
    resumed = _metrics(run)
    assert [m["step"] for m in resumed] == [m["step"] for m in uninterrupted]
    for a, b in zip(resumed, uninterrupted):
        assert a.keys() == b.keys(), (a, b)
        for k in a: assert a[k] == pytest.approx(b[k], rel=1e-6, abs=1e-7), (k, a, b)
