"""A sweep killed with `kill -9` in the middle of a cell, then rerun, finishes every cell exactly once: the killed cell
resumes from its checkpoint (no step trained twice or skipped), finished cells are skipped, and a third run does
nothing. Real processes: the `tinystories sweep` command in a subprocess, killed alone (its cell then stops
cleanly on SIGTERM) or together with its whole process group (the cell dies without saving); either way no process
of the killed sweep is left behind."""
import fcntl, json, os, signal, subprocess, sys, time
from pathlib import Path
import pytest

STEPS = 160
CONFIG = """
data = "{data}"
layers = [1, 2]
widths = [16]
head_dim = 8
preset = "tiny"
evaluate = false

[train]
max_steps = {steps}
batch_size = 4
seq_len = 32
lr = 3e-3
warmup_steps = 5
eval_every = 40
ckpt_every = 10
eval_tokens = 1024
device = "cpu"
threads = 1
"""
CELLS = ["L1_D16_H2", "L2_D16_H2"]
ENV = {**os.environ, "TINYSTORIES_PROGRESS": "0"}


def sweep_cmd(out, cfg=None):
    args = ["sweep", "--out", str(out)] + (["--config", str(cfg)] if cfg else [])
    return [sys.executable, "-c", "import sys; from tinystories_nb.app.cli import main; sys.exit(main(sys.argv[1:]))", *args]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    from tinystories_nb.synth.samples import sample_path
    from tinystories_nb.data.tokenize import PrepareConfig, prepare
    d = tmp_path_factory.mktemp("data")
    prepare(sample_path(), d, cfg=PrepareConfig(vocab_size=300))
    return d


def wait_for(pred, timeout=120, what="condition"):
    t0 = time.time()
    while not pred():
        if time.time() - t0 > timeout: raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.02)


def unlocked(run: Path) -> bool:
    "Has every process working on `run` exited (its lock is free)?"
    with open(run/".lock", "a") as f:
        try: fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError: return False
        fcntl.flock(f, fcntl.LOCK_UN); return True


def session(sid: int) -> list[int]:
    "The processes still alive in session `sid` (Linux: from /proc; elsewhere, none are seen)."
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try: fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError): continue
        if fields[0] != "Z" and int(fields[3]) == sid: pids.append(int(stat.parent.name))
    return pids


def ends(run: Path) -> list[str]:
    return [json.loads(l)["status"] for l in (run/"attempts.jsonl").read_text().splitlines() if '"end"' in l]


def start_and_kill(cmd, run: Path, group: bool):
    """Start a sweep, wait until cell `run` is mid-training (a checkpoint, no done.json), then SIGKILL the runner or its process group;
    then wait until no process of the sweep is left (its fork server and cell exit with the runner)."""
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV, start_new_session=True)
    try:
        wait_for(lambda: (run/"ckpt").is_dir() and any((run/"ckpt").glob("step_*")), what=f"a checkpoint of {run.name}")
        assert not (run/"done.json").exists()
        if Path("/proc").is_dir(): assert len(session(p.pid)) >= 3     # the runner, the fork server and the cell
        if group: os.killpg(p.pid, signal.SIGKILL)      # runner, fork server and cell die at once: no checkpoint on the way out
        else: os.kill(p.pid, signal.SIGKILL)            # the runner alone: its cell gets SIGTERM, saves and exits
    finally:
        p.kill(); p.communicate()
    wait_for(lambda: not session(p.pid), timeout=60, what="every process of the killed sweep to exit")   # no orphans


def test_killed_sweep_resumes(tmp_path, data):
    from tinystories_nb.model.train import read_metrics
    cfg = tmp_path/"sweep.toml"; cfg.write_text(CONFIG.format(data=data, steps=STEPS))
    out = tmp_path/"sweep"
    runs = [out/"runs"/c for c in CELLS]

    start_and_kill(sweep_cmd(out, cfg), runs[0], group=False)     # 1. kill -9 the runner during the first cell
    assert unlocked(runs[0])                                       # its cell has exited
    assert "SIGTERM received" in (runs[0]/"log.txt").read_text()   # it stopped cleanly, saving a checkpoint
    start_and_kill(sweep_cmd(out), runs[1], group=True)          # 2. rerun (config saved in the sweep); kill -9 everything in cell 2
    assert (runs[0]/"done.json").exists() and not (runs[1]/"done.json").exists()

    r = subprocess.run(sweep_cmd(out), capture_output=True, text=True, env=ENV, timeout=300)   # 3. rerun to the end
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"{CELLS[0]:<18} skipped" in r.stdout and f"{CELLS[1]:<18} done" in r.stdout, r.stdout
    for run in runs:
        done = json.loads((run/"done.json").read_text())
        assert (done["step"], done["final_step"]) == (STEPS, STEPS)
        assert ends(run).count("done") == 1, ends(run)             # finished exactly once
        assert (run/"attempts.jsonl").read_text().count('"start"') >= 2   # the killed attempt left a start and no end
        steps = [m["step"] for m in read_metrics(run) if "train_loss" in m]
        assert steps == list(range(1, STEPS + 1))                  # every step exactly once across the kills
        assert "resumed" in (run/"log.txt").read_text()

    before = [(run/"attempts.jsonl").read_text() for run in runs]
    r = subprocess.run(sweep_cmd(out), capture_output=True, text=True, env=ENV, timeout=120)   # 4. nothing left to do
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("skipped") == 2, r.stdout
    assert [(run/"attempts.jsonl").read_text() for run in runs] == before   # no cell process was started


def test_interrupted_sweep_resumes(tmp_path, data):
    "Ctrl-C or the notebook's stop button in the runner: the cell saves a checkpoint and stops, `run_sweep` raises; rerunning finishes."
    import threading
    from tinystories_nb.studies.sweep import SweepConfig, run_sweep
    from tinystories_nb.model.train import read_metrics
    (tmp_path/"sweep.toml").write_text(CONFIG.format(data=data, steps=STEPS).replace("layers = [1, 2]", "layers = [1]"))
    cfg, out = SweepConfig.load(tmp_path/"sweep.toml"), tmp_path/"sweep"
    run = out/"runs"/CELLS[0]
    def interrupt():
        wait_for(lambda: (run/"ckpt").is_dir() and any((run/"ckpt").glob("step_*")), what="a checkpoint")
        os.kill(os.getpid(), signal.SIGINT)                            # what Ctrl-C or the stop button does to the runner
    t = threading.Thread(target=interrupt, daemon=True); t.start()
    with pytest.raises(KeyboardInterrupt): run_sweep(cfg, out)
    t.join()
    assert ends(run) == ["interrupted"] and not (run/"done.json").exists()
    assert "SIGTERM received" in (run/"log.txt").read_text()          # the cell stopped cleanly, saving a checkpoint
    res = run_sweep(cfg, out)
    assert res.status == {CELLS[0]: "done"} and ends(run) == ["interrupted", "done"]
    assert [m["step"] for m in read_metrics(run) if "train_loss" in m] == list(range(1, STEPS + 1))
