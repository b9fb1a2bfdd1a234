"""`tinystories generate` against the loopback server: honest exit codes (1 when the work all failed, with what
failed and the exact command to retry), partial failure and its retry, rejected stories topped up with new
prompts, one run per --out directory, and bad settings refused in one line before anything is written."""
import contextlib, io, json, os, re, shlex, signal, subprocess, sys, time
import pytest
from tinystories_nb.app.cli import main
from tinystories_nb.data.stories import read_stories
from tinystories_nb.synth.generate import fake_teacher
from tinystories_nb.synth.store import JobStore
from tinystories_nb.synth.prompts import sample_prompts
from tinystories_nb.synth.teachers import LLMTeacher
from tinystories_nb.synth.testing import FakeOpenAI, ok, status

RUN = "import sys; from tinystories_nb.app.cli import main; sys.exit(main(sys.argv[1:]))"

@pytest.fixture(autouse=True)
def _env(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.setenv("TINYSTORIES_PROGRESS", "0")

def cli(*argv) -> tuple[int, str, str]:
    "Run `tinystories ARGV` in this process; (exit status, stdout, stderr)."
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err): rc = main([str(a) for a in argv])
    return rc, out.getvalue(), err.getvalue()

def job(url, out, n, *extra):
    return ("generate", "--teacher", "openai", "--base-url", url, "--n", n, "--out", out, *extra)

def _idx(specs):
    "A function from a story request to its prompt's index (None for anything else)."
    by = {json.dumps(LLMTeacher(None).messages(s)): s.index for s in specs}
    return lambda req: by.get(json.dumps(req["messages"]))

def test_dead_server_exits_1(tmp_path):
    with FakeOpenAI() as srv: dead = srv.base_url                      # started and stopped: nothing listens there
    for extra in [(), ("--batch-api", "--poll-s", "0.01")]:
        out = tmp_path/f"dead{len(extra)}"
        rc, stdout, stderr = cli(*job(dead, out, 5, *extra))
        assert rc == 1, (stdout, stderr)
        assert stdout.startswith("0 stories in ") and "5 missing" in stdout
        assert f"error: cannot reach {dead}: connection refused" in stderr
        assert f"to retry: tinystories generate --teacher openai --n 5 --out {out} --base-url {dead}" in stderr
        assert json.loads((out/"generate.json").read_text())["report"]["ok"] is False

def test_wrong_base_url_exits_1(tmp_path):
    with FakeOpenAI() as srv:
        rc, stdout, stderr = cli(*job(srv.base_url.replace("/v1", "/wrong"), tmp_path/"j", 5))
    assert rc == 1 and "not found (404)" in stderr and "0 stories" in stdout

@pytest.mark.parametrize("code", [500, 400])
def test_server_refusing_everything_exits_1(tmp_path, code):
    with FakeOpenAI(lambda req: status(code)) as srv:
        rc, stdout, stderr = cli(*job(srv.base_url, tmp_path/"j", 6, "--max-attempts", 2))
        assert rc == 1, (stdout, stderr)
        assert "6 failed" in stdout and f"6 prompts failed: " in stderr and f"{code}" in stderr
        assert "to retry: tinystories generate" in stderr
        assert len(srv.chat_requests()) == 6 * (2 if code == 500 else 1)            # 400s are not retried

def test_circuit_breaker_stops_a_server_that_fails_everything(tmp_path):
    with FakeOpenAI(lambda req: status(400)) as srv:
        rc, stdout, stderr = cli(*job(srv.base_url, tmp_path/"j", 60, "--concurrency", 4, "--no-summaries"))
        assert rc == 1
        assert "stopped: the first 16 requests of this run all failed" in stdout, stdout
        assert len(srv.chat_requests()) <= 16 + 3                                # the rest were not sent (3: still in flight)
    with JobStore(tmp_path/"j"/"jobs.sqlite") as store: c = store.counts()
    assert 16 <= c["failed"] <= 19 and c["pending"] >= 41 and c["done"] == 0

def test_all_too_short_exits_1(tmp_path):
    with FakeOpenAI(lambda req: ok("Lily ran home. The end.")) as srv:
        rc, stdout, stderr = cli(*job(srv.base_url, tmp_path/"j", 8, "--no-summaries"))
        assert len(srv.chat_requests()) == 8                                     # no top-up after a pass with no valid story
    assert rc == 1
    assert stdout.startswith("0 stories in ") and "8 rejected" in stdout
    assert "8 stories rejected: too short (8)" in stderr and "--min-words sets the shortest story accepted" in stderr
    assert "no story of the last pass passed validation" in stderr
    assert (tmp_path/"j"/"stories.jsonl").read_text() == ""

def test_partial_failure_says_what_and_the_retry_command_finishes(tmp_path):
    n, seed = 10, 4
    specs = sample_prompts(n, seed=seed)
    good, idx, broken = fake_teacher(specs, seed=seed), _idx(specs), {2, 5, 7}
    healthy = [False]
    def script(req):
        if not healthy[0] and idx(req) in broken: return status(503)
        return good(req)
    out = tmp_path/"j"
    with FakeOpenAI(script) as srv:
        rc, stdout, stderr = cli(*job(srv.base_url, out, n, "--seed", seed, "--max-attempts", 1, "--concurrency", 2))
        assert rc == 0, stderr                                                   # 7 new stories: the run did something
        assert stdout.startswith("7 stories in ") and "3 failed" in stdout and "3 missing" in stdout
        lines = stderr.strip().splitlines()
        assert lines[0].startswith("tinystories: 3 prompts failed: chat request failed with HTTP 503"), lines
        retry = lines[-1].split("to retry: ", 1)[1]
        assert retry == shlex.join(["tinystories", "generate", "--teacher", "openai", "--n", str(n), "--out", str(out),
                                    "--base-url", srv.base_url, "--concurrency", "2", "--seed", str(seed), "--max-attempts", "1"])
        healthy[0] = True
        rc, stdout, stderr = cli(*shlex.split(retry)[1:])                        # the exact command, as printed
        assert (rc, stderr) == (0, "")
        assert stdout.startswith(f"{n} stories in ") and "0 missing" in stdout
    assert sorted(s.id for s in read_stories(out/"stories.jsonl")) == sorted(s.id for s in specs)

def test_failed_rows_out_of_attempts_get_a_command_that_allows_one_more(tmp_path):
    with FakeOpenAI(lambda req: status(400)) as srv:
        argv = job(srv.base_url, tmp_path/"j", 3, "--row-attempts", 1, "--no-summaries")
        cli(*argv)
        rc, _, stderr = cli(*argv)                                               # nothing left to retry with 1 attempt
    assert rc == 1
    assert "3 of them have used all their runs (--row-attempts 1)" in stderr and "--row-attempts 2" in stderr.splitlines()[-1]

def test_rejected_stories_topped_up_to_n(tmp_path):
    n, seed = 12, 6
    specs = sample_prompts(n + 40, seed=seed)                                   # the job's prompts and any top-ups
    good, idx = fake_teacher(specs, seed=seed), _idx(specs)
    short = lambda req: ok("Tom ran. The end.") if (i := idx(req)) is not None and i % 3 == 0 else good(req)
    runs = []
    for name in ("a", "b"):
        with FakeOpenAI(short) as srv:
            rc, stdout, stderr = cli(*job(srv.base_url, tmp_path/name, n, "--seed", seed, "--no-summaries"))
        assert (rc, stderr) == (0, ""), stderr
        assert stdout.startswith(f"{n} stories in ") and "0 missing" in stdout and "new prompts in" in stdout
        with JobStore(tmp_path/name/"jobs.sqlite") as store:
            rows = store.db.execute("SELECT idx, status FROM prompts ORDER BY idx").fetchall()
        runs.append([tuple(r) for r in rows])
        assert [i for i, st in runs[-1] if st == "invalid"] == [i for i, _ in runs[-1] if i % 3 == 0]
        assert sum(st == "done" for _, st in runs[-1]) == n and max(i for i, _ in runs[-1]) >= n
    assert runs[0] == runs[1]                                                   # the same prompts, the same results

def test_top_up_off_then_on(tmp_path):
    n, seed = 9, 8
    specs = sample_prompts(n + 20, seed=seed)
    good, idx = fake_teacher(specs, seed=seed), _idx(specs)
    short = lambda req: ok("Tom ran. The end.") if idx(req) in (1, 4) else good(req)
    with FakeOpenAI(short) as srv:
        rc, stdout, stderr = cli(*job(srv.base_url, tmp_path/"j", n, "--seed", seed, "--no-summaries", "--top-up-rounds", 0))
        assert rc == 0 and "2 missing" in stdout
        assert "topping up is off (--top-up-rounds 0)" in stderr
        retry = stderr.strip().splitlines()[-1].split("to retry: ", 1)[1]
        assert "--top-up-rounds 1" in retry
        rc, stdout, stderr = cli(*shlex.split(retry)[1:])
        assert (rc, stderr) == (0, "") and stdout.startswith(f"{n} stories in ")
        assert "this run: 2 new, 0 rejected, 2 new prompts in 1 top-up rounds" in stdout

def test_min_words_from_the_command_line(tmp_path):
    with FakeOpenAI(fake_teacher(sample_prompts(4, seed=1), seed=1)) as srv:
        rc, stdout, _ = cli(*job(srv.base_url, tmp_path/"j", 4, "--seed", 1, "--no-summaries", "--min-words", 600, "--top-up-rounds", 0))
    assert rc == 1 and "4 rejected" in stdout
    with JobStore(tmp_path/"j"/"jobs.sqlite") as store:
        assert all("minimum 600" in r for (r,) in store.db.execute("SELECT reasons FROM prompts"))
    assert json.loads((tmp_path/"j"/"generate.json").read_text())["config"]["min_words"] == 600

def test_second_run_on_the_same_out_is_refused(tmp_path):
    n = 30
    specs = sample_prompts(n, seed=2)
    env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"} | {"TINYSTORIES_PROGRESS": "0"}
    out = tmp_path/"j"
    with FakeOpenAI(fake_teacher(specs, seed=2), latency=0.3) as srv:
        cmd = [sys.executable, "-c", RUN, *map(str, job(srv.base_url, out, n, "--seed", 2, "--concurrency", 1))]
        first = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            t0 = time.time()
            while not srv.chat_requests():                                       # the first run holds the lock and works
                assert first.poll() is None and time.time() - t0 < 60, first.stderr.read().decode()[-2000:]
                time.sleep(0.02)
            second = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
            assert first.poll() is None                                          # still running
        finally:
            first.kill(); first.wait()
    assert second.returncode == 2 and second.stdout == ""
    assert second.stderr.count("\n") == 1 and second.stderr.startswith("tinystories: error: ")
    assert f"is in use by generate (pid {first.pid} on " in second.stderr, second.stderr

@pytest.mark.parametrize("flag,value,says", [
    ("--n", "0", "n (--n) must be between 1 and"), ("--concurrency", "0", "--concurrency"),
    ("--temperature", "nan", "--temperature"), ("--temperature", "2.5", "temperature (--temperature) must be between 0 and 2"),
    ("--budget-usd", "-1", "--budget-usd"), ("--budget-usd", "inf", "--budget-usd"), ("--max-tokens", "0", "--max-tokens"),
    ("--poll-s", "0", "--poll-s"), ("--min-words", "-5", "--min-words"), ("--top-up-rounds", "-1", "--top-up-rounds"),
    ("--batch-size", "60000", "--batch-size"), ("--timeout", "0", "--timeout"), ("--max-attempts", "0", "--max-attempts"),
    ("--row-attempts", "0", "--row-attempts"), ("--n", "many", "--n"), ("--base-url", "localhost:8000", "--base-url")])
def test_bad_setting_one_line_nothing_written(tmp_path, flag, value, says):
    out = tmp_path/"never"
    argv = ["generate", "--teacher", "openai", "--base-url", "http://127.0.0.1:9/v1", "--n", "5", "--out", out]
    argv += [flag, value]
    rc, stdout, stderr = cli(*argv)
    assert rc == 2 and stdout == ""
    assert stderr.startswith("tinystories: error: ") and stderr.count("\n") == 1, stderr
    assert says in stderr, stderr
    assert not out.exists()
