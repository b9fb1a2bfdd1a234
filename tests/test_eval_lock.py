"""One evaluation per output directory: while `tinystories eval --out DIR` works (here: waiting on a slow judge), a
second process on the same DIR is refused with one line naming the holder, and writes nothing; when the first is
killed with SIGKILL the operating system releases the lock and the next evaluation runs."""
import contextlib, io, json, os, signal, subprocess, sys, time
from pathlib import Path
import pytest
from conftest import tiny_eval_run
from tinystories_nb.app.cli import main
from tinystories_nb.eval.judge import format_verdict, parse_request
from tinystories_nb.synth.testing import FakeOpenAI, ok

ROOT = Path(__file__).resolve().parent.parent

@pytest.fixture(autouse=True)
def no_progress_bars(monkeypatch): monkeypatch.setenv("TINYSTORIES_PROGRESS", "0")      # stderr holds only what the command says

@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    return tiny_eval_run(tmp_path_factory.mktemp("evallock"), 2)

def args(d, out):
    return ["eval", "--ckpt", str(d/"run"), "--out", str(out), "--set", str(d/"set.jsonl"), "--n-per-prompt", "1",
            "--max-new-tokens", "8", "--probes", "none", "--bootstrap", "100"]

def tinystories(*argv, **kw):
    env = {**os.environ, "TINYSTORIES_PROGRESS": "0"}
    return subprocess.Popen([str(Path(sys.executable).parent/"tinystories"), *map(str, argv)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT, **kw)

def slow_verdict(req):
    "A judge that takes a minute to answer (the server cuts the wait short when it stops)."
    r = parse_request(req)
    return ok(format_verdict("Fine.", {"grammar": 5, "creativity": 5, "consistency": 5, "plot": 5}, "B", r["mode"]), latency=60)

def test_a_second_process_on_the_same_out_is_refused(setup):
    d, out = setup, setup/"eval"
    with FakeOpenAI(slow_verdict) as srv:
        first = tinystories(*args(d, out), "--judge", "openai", "--model", "gpt-4o-mini", "--api-key-env", "none", "--base-url", srv.base_url)
        try:
            t0 = time.time()
            while not srv.chat_requests():                                  # the first one is judging: it holds the lock
                assert first.poll() is None, first.communicate()
                assert time.time() - t0 < 120, "the first evaluation never reached the judge"
                time.sleep(0.05)
            files = sorted(p.name for p in out.iterdir())
            second = tinystories(*args(d, out))
            _, err = second.communicate(timeout=120)
            assert second.returncode == 2, err
            assert err.count("\n") == 1 and "Traceback" not in err, err
            assert f"{out} is in use by eval (pid {first.pid} on" in err, err
            assert sorted(p.name for p in out.iterdir()) == files and not (out/"summary.json").exists()
            assert first.poll() is None                                     # the first one is undisturbed
            os.kill(first.pid, signal.SIGKILL)                              # killed while holding the lock
            first.wait(timeout=30)
        finally:
            if first.poll() is None: first.kill(); first.wait()
    # the OS released the lock with the process: the next evaluation into the same directory runs
    o = io.StringIO()
    with contextlib.redirect_stdout(o): assert main(args(d, out)) == 0
    assert json.loads((out/"summary.json").read_text())["samples"]["beginning"] == 2

def test_different_out_directories_run_side_by_side(setup):
    "The lock is per directory: an evaluation into another directory is not held up."
    d = setup
    from tinystories_nb.core import dir_lock
    with dir_lock(d/"busy", "eval"):
        o, e = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(o), contextlib.redirect_stderr(e):
            assert main(args(d, d/"busy")) == 2
            assert main(args(d, d/"free")) == 0
        assert "is in use by eval" in e.getvalue() and e.getvalue().count("\n") == 1
