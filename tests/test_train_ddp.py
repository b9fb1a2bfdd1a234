"""Data-parallel training through the real launcher: `torchrun --standalone --nproc_per_node 2` runs
`tinystories train` on the gloo backend (CPU). Two processes with batch 4 each must follow the same loss trajectory
as one process with batch 8 (same global batch, same sequences), write one set of metrics and checkpoints, and
resume exactly. And the README's multi-GPU command runs as written (two CPU processes instead of eight GPUs)."""
import os, socket, subprocess, sys
from pathlib import Path
import pytest

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parent.parent
ARGS = ["--preset", "tiny", "--max-steps", "10", "--lr", "3e-3", "--eval-every", "5", "--dtype", "fp32", "--device", "cpu"]
ENV = {**os.environ, "TINYSTORIES_PROGRESS": "0", "OMP_NUM_THREADS": "1"}

@pytest.fixture(scope="module")
def data(tmp_path_factory):
    from tinystories_nb.synth.samples import sample_path
    from tinystories_nb.data.tokenize import PrepareConfig, prepare
    return prepare(sample_path(), tmp_path_factory.mktemp("data"), cfg=PrepareConfig(vocab_size=512)).dir

def _run(cmd):
    r = subprocess.run(cmd, env=ENV, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, f"{' '.join(map(str, cmd))} failed:\n{r.stderr[-4000:]}"
    return r

def _torchrun(*args):
    return _run([str(BIN/"torchrun"), "--standalone", "--nproc_per_node", "2", str(BIN/"tinystories"), "train", *args])

def _metrics(run):
    from tinystories_nb.model.train import read_metrics
    return [{k: v for k, v in r.items() if k not in ("tokens_per_s", "mfu")} for r in read_metrics(run)]

def _same(a, b, tol=1e-5):
    assert [r["step"] for r in a] == [r["step"] for r in b]
    for x, y in zip(a, b):
        assert x.keys() == y.keys(), (x, y)
        for k in x: assert x[k] == pytest.approx(y[k], rel=tol, abs=tol), (k, x, y)

def test_two_processes_match_one(data, tmp_path):
    one, two = tmp_path/"one", tmp_path/"two"
    _run([str(BIN/"tinystories"), "train", "--data", str(data), "--out", str(one), "--batch-size", "8", *ARGS])
    r = _torchrun("--data", str(data), "--out", str(two), "--batch-size", "4", *ARGS)
    assert r.stdout.count("run: ") == 1, r.stdout                    # rank 0 alone reports
    m1, m2 = _metrics(one), _metrics(two)
    assert [r["step"] for r in m2 if "val_loss" in r] == [5, 10]
    assert m2[0]["tokens"] == 8 * 64                                 # the global batch: 2 processes x 4 x 64 tokens
    _same(m1, m2)

    from tinystories_nb.model.checkpoint import Checkpoints, load_model
    cks = Checkpoints(two).list()
    assert [c.step for c in cks] == [5, 10] and cks[-1].meta["world_size"] == 2
    assert len(cks[-1].meta["rng"]) == 2                             # every rank's RNG state
    (m_a, _, _), (m_b, _, _) = load_model(one), load_model(two)
    for p, q in zip(m_a.parameters(), m_b.parameters()): assert (p - q).abs().max() < 1e-4

    # resume the 2-process run for 5 more steps, and compare with one process doing all 15
    _torchrun("--data", str(data), "--out", str(two), "--batch-size", "4", *ARGS, "--max-steps", "15", "--resume")
    _run([str(BIN/"tinystories"), "train", "--data", str(data), "--out", str(one), "--batch-size", "8", *ARGS,
          "--max-steps", "15", "--resume"])
    _same(_metrics(one), _metrics(two))

def test_the_readme_command(data, tmp_path):
    "README's torchrun line as written (`-m tinystories_nb.app.cli`, its --data, --preset and --out), for 2 CPU processes and 3 small steps."
    line = next(l for l in (ROOT/"README.md").read_text().splitlines() if l.startswith("torchrun "))
    cmd = line.split("#")[0].split()
    assert cmd[:6] == ["torchrun", "--nproc_per_node", "8", "-m", "tinystories_nb.app.cli", "train"], line
    cmd[0], cmd[2] = str(BIN/"torchrun"), "2"
    cmd[cmd.index("--data") + 1], cmd[cmd.index("--out") + 1] = str(data), str(tmp_path/"run")
    cmd += ["--max-steps", "3", "--batch-size", "1", "--seq-len", "64", "--eval-every", "0", "--device", "cpu", "--dtype", "fp32"]
    with socket.socket() as s: s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]
    r = subprocess.run(cmd, env={**ENV, "PET_MASTER_PORT": str(port)}, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert r.returncode == 0, f"{line}\n{r.stderr[-4000:]}"
    assert r.stdout.count("run: ") == 1, r.stdout                         # rank 0 reports, rank 1 trains quietly
    from tinystories_nb.model.checkpoint import Checkpoints
    from tinystories_nb.core import read_json
    info, ck = read_json(tmp_path/"run"/"config.json"), Checkpoints(tmp_path/"run").latest()
    assert (info["world_size"], info["train"]["preset"], ck.step, ck.meta["world_size"]) == (2, "33M", 3, 2)
    assert len(ck.meta["rng"]) == 2 and ck.meta["tokens"] == 3 * 2 * 64  # both ranks took part in every step
