"""kill -9 a real `tinystories generate --teacher openai` process mid-run (twice), rerun it, and check exact counts:
every prompt has exactly one story, on its own row, none lost, none duplicated."""
import json, os, signal, sqlite3, subprocess, sys, time
import pytest
from tinystories_nb.data.stories import read_stories
from tinystories_nb.synth.generate import fake_teacher
from tinystories_nb.synth.store import JobStore
from tinystories_nb.synth.prompts import sample_prompts
from tinystories_nb.synth.engine import OfflineTeacher
from tinystories_nb.synth.testing import FakeOpenAI

RUN = "import sys; from tinystories_nb.app.cli import main; sys.exit(main(sys.argv[1:]))"

def _done(db) -> int:
    try:
        with sqlite3.connect(db) as con: return con.execute("SELECT COUNT(*) FROM prompts WHERE status = 'done'").fetchone()[0]
    except sqlite3.Error: return 0

def _run_until(cmd, env, db, at_least, timeout=120):
    "Start `cmd`, wait until `at_least` rows are done, then kill -9 it; returns the done count at the kill."
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    t0 = time.time()
    while _done(db) < at_least:
        assert proc.poll() is None, f"generate exited before the kill: {proc.stderr.read().decode()[-2000:]}"
        assert time.time() - t0 < timeout, "generate made no progress"
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL); proc.wait()
    return _done(db)

@pytest.mark.parametrize("summaries", [True, False])
def test_kill_9_and_resume(tmp_path, summaries):
    n, seed = 120, 21
    specs = sample_prompts(n, seed=seed)
    out, db = tmp_path/"job", tmp_path/"job"/"jobs.sqlite"
    env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"} | {"TINYSTORIES_PROGRESS": "0"}
    with FakeOpenAI(fake_teacher(specs, seed=seed), latency=0.03) as srv:
        cmd = [sys.executable, "-c", RUN, "generate", "--teacher", "openai", "--base-url", srv.base_url, "--n", str(n),
               "--seed", str(seed), "--concurrency", "6", "--out", str(out)] + ([] if summaries else ["--no-summaries"])
        first = _run_until(cmd, env, db, 20)
        second = _run_until(cmd, env, db, first + 20)
        with JobStore(db) as store: c = store.counts()
        assert c["done"] < n and c["in_flight"] + c["pending"] > 0, c        # really killed mid-run
        r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr
        requests = len(srv.chat_requests())
    with JobStore(db) as store:
        assert store.counts() == {"pending": 0, "in_flight": 0, "done": n, "invalid": 0, "failed": 0}
        rows = store.db.execute("SELECT id, attempts, summary FROM prompts").fetchall()
    stories = list(read_stories(out/"stories.jsonl"))
    assert len(stories) == n
    assert sorted(s.id for s in stories) == sorted(sp.id for sp in specs)           # none lost, none duplicated
    assert len({s.text for s in stories}) == n
    teacher = OfflineTeacher(seed=seed)
    by_id = {sp.id: sp for sp in specs}
    assert all(s.text == teacher.write(by_id[s.id]).strip() for s in stories)       # each story on its own row
    assert all(bool(s.summary) == summaries for s in stories)
    # the kills cost at most the requests in flight at each kill (6 each), never a lost or doubled row
    assert n * (2 if summaries else 1) <= requests <= n * (2 if summaries else 1) + 2 * 6 * 2
    assert json.loads((out/"generate.json").read_text())["report"]["counts"]["done"] == n
