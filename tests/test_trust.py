"""What a careful user tries against the command line: hostile or damaged files, settings that are not numbers, two
processes on one folder. Every case ends with one line on stderr, exit status 2, no traceback, and nothing run
that a file named; damaged checkpoints are moved aside, never deleted."""
import json, os, shutil, subprocess, sys, time
from pathlib import Path
import numpy as np
import pytest

BIN = Path(sys.executable).parent
ENV = {**os.environ, "TINYSTORIES_PROGRESS": "0", "OMP_NUM_THREADS": "1"}

def tinystories(*args, cwd=None, env=None):
    return subprocess.run([str(BIN/"tinystories"), *map(str, args)], capture_output=True, text=True, timeout=600, cwd=cwd,
                          env={**ENV, **(env or {})})

def one_line(r, msg: str):
    assert r.returncode == 2, (r.returncode, r.stdout[-2000:], r.stderr[-2000:])
    assert msg in r.stderr and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr, r.stderr

@pytest.fixture(scope="module")
def run(tmp_path_factory):
    "A tiny prepared dataset and a run trained on it for 4 steps (checkpoints at 2 and 4)."
    d = tmp_path_factory.mktemp("trust")
    from tinystories_nb.synth.samples import sample_path
    from tinystories_nb.data.tokenize import PrepareConfig, prepare
    prepare(sample_path(), d/"data", cfg=PrepareConfig(vocab_size=300))
    r = tinystories("train", "--data", d/"data", "--out", d/"run", "--preset", "tiny", "--max-steps", "4", "--eval-every", "2",
                    "--device", "cpu", "--dtype", "fp32")
    assert r.returncode == 0, r.stderr
    return d

def test_a_hostile_meta_json_runs_nothing(run, tmp_path):
    from tinystories_nb.model.checkpoint import meta_hash
    ck = sorted((run/"run"/"ckpt").glob("step_*"))[-1]
    evil = tmp_path/"evil"; shutil.copytree(ck, evil)
    meta = json.loads((evil/"meta.json").read_text())
    meta["model"].update({"class": "tinystories_nb.core.write_json", "config": {"path": str(tmp_path/"pwned"), "obj": 1}})
    meta["meta_sha256"] = meta_hash(meta)
    (evil/"meta.json").write_text(json.dumps(meta))
    one_line(tinystories("sample", "--ckpt", evil, "--device", "cpu"), "which is not a registered model")
    assert not (tmp_path/"pwned").exists()

def test_settings_that_are_not_numbers_or_devices(run):
    cases = [(["sample", "--ckpt", run/"run", "--temperature", "nan"], "'nan' is not a finite number"),
             (["sample", "--ckpt", run/"run", "--max-new-tokens", "-3", "--device", "cpu"], "max_new_tokens must not be negative"),
             (["train", "--data", run/"data", "--out", run/"x", "--lr", "nan"], "'nan' is not a finite number"),
             (["train", "--data", run/"data", "--out", run/"x", "--device", "tpu"], "unknown device 'tpu'"),
             (["sample", "--ckpt", run/"run", "--device", "cuda:7"], "device 'cuda:7'")]
    for args, msg in cases: one_line(tinystories(*args), msg)

def test_token_ids_outside_the_vocabulary(run, tmp_path):
    shutil.copytree(run/"data", tmp_path/"data")
    ids = np.memmap(tmp_path/"data"/"train.bin", dtype=np.uint16, mode="r+"); ids[10] = 40000; ids.flush(); del ids
    one_line(tinystories("train", "--data", tmp_path/"data", "--out", tmp_path/"run", "--preset", "tiny", "--max-steps", "1"),
             "holds token id 40,000, outside the tokenizer's vocabulary of 300")
    assert not (tmp_path/"run"/"ckpt").exists()

def test_two_processes_one_run_directory(run, tmp_path):
    hold = "import sys, time; from tinystories_nb.core import dir_lock\nwith dir_lock(sys.argv[1], 'train'): print('held', flush=True); time.sleep(120)"
    p = subprocess.Popen([sys.executable, "-c", hold, str(tmp_path/"busy")], stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline().strip() == "held"
        one_line(tinystories("train", "--data", run/"data", "--out", tmp_path/"busy", "--preset", "tiny", "--max-steps", "1"),
                 f"is in use by train (pid {p.pid}")
        one_line(tinystories("prepare", run/"data"/"train.bin", "--out", tmp_path/"busy"), f"is in use by train (pid {p.pid}")
    finally: p.kill(); p.wait()

def test_a_damaged_checkpoint_is_moved_aside_and_resume_goes_on(run, tmp_path):
    shutil.copytree(run/"run", tmp_path/"run")
    newest = sorted((tmp_path/"run"/"ckpt").glob("step_*"))[-1]
    w = newest/"model.safetensors"; b = bytearray(w.read_bytes()); b[-3] ^= 0x01; w.write_bytes(bytes(b))   # one bit
    r = tinystories("train", "--out", tmp_path/"run", "--resume", "--max-steps", "6")
    assert r.returncode == 0, r.stderr
    assert "moved it aside" in r.stderr and "step 6/6" in r.stdout, (r.stdout, r.stderr)
    kept = [p for p in (tmp_path/"run"/"ckpt").iterdir() if p.name.startswith(f"corrupt-{newest.name}-")]
    assert len(kept) == 1 and (kept[0]/"model.safetensors").read_bytes() == bytes(b)   # kept as it was, for inspection
