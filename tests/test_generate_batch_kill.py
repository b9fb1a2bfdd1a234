"""Idempotent spending: `kill -9` a real `tinystories generate --batch-api` process at every stage of a Batch API
submission — the upload received, the upload stored but unanswered, the batch received, created but unanswered,
answered, and during the lookups a rerun makes — rerun it each time, and count what the loopback server accepted:
exactly one upload and one batch per batch the job needs, and every story and summary asked for exactly once."""
import collections, json, math, os, signal, subprocess, sys, threading
from tinystories_nb.data.stories import read_stories
from tinystories_nb.synth.generate import fake_teacher
from tinystories_nb.synth.store import JobStore
from tinystories_nb.synth.prompts import sample_prompts
from tinystories_nb.synth.engine import OfflineTeacher
from tinystories_nb.synth.testing import FakeOpenAI

RUN = "import sys; from tinystories_nb.app.cli import main; sys.exit(main(sys.argv[1:]))"

def _what(req) -> str:
    "Which Batch API call a request is."
    parts = req["path"].strip("/").split("/")                     # ['v1', 'batches', 'batch_3']
    return {("POST", 2, "files"): "upload", ("GET", 2, "files"): "list files", ("POST", 2, "batches"): "create",
            ("GET", 2, "batches"): "list batches", ("GET", 3, "batches"): "retrieve"}.get(
        (req["method"], len(parts), parts[1] if len(parts) > 1 else ""), "other")

class Killer:
    "A FakeOpenAI hook that kill -9s the running client at the n-th `what` request of its run, at `stage`."
    def __init__(self): self.proc, self.plan, self.seen, self.killed, self.lock = None, None, collections.Counter(), False, threading.Lock()
    def arm(self, proc, plan): self.proc, self.plan, self.seen, self.killed = proc, plan, collections.Counter(), False
    def __call__(self, stage, req):
        with self.lock:
            if self.proc is None or self.plan is None or self.killed: return
            what = _what(req)
            if stage == "received": self.seen[what] += 1
            if (what, stage, self.seen[what]) == self.plan:
                os.kill(self.proc.pid, signal.SIGKILL); self.proc.wait(); self.killed = True

# The job: 12 stories in batches of 5 -> story batches of 5, 5, 2, then summary batches of 5, 5, 2. Each run is
# killed at one point; the comment says where that is in the job (the run first resumes what the last one left).
KILLS = [("upload", "received", 1),        # story batch 1: the upload arrived (the server stores it after the kill)
         ("create", "received", 1),        # rerun found the file (no second upload); killed as its batch arrives
         ("upload", "replying", 1),        # batch 1 adopted and collected; batch 2's file stored, reply not sent
         ("create", "replying", 1),        # batch 2 created (from the stored file), reply not sent
         ("create", "sent", 1),            # batch 2 adopted; batch 3 created and answered: recorded or not
         ("create", "received", 1),        # stories done; summary batch 1 arrives
         ("list batches", "received", 1),  # the rerun killed while it looks for summary batch 1
         ("upload", "received", 1),        # summary batch 1 adopted; summary batch 2's upload arrives
         ("list files", "received", 1),    # the rerun killed while it looks for that file
         ("create", "replying", 2)]        # summary batch 2 created from it; summary batch 3 created, reply not sent

def test_batch_submissions_survive_kill_9(tmp_path):
    n, seed, size = 12, 23, 5
    specs = sample_prompts(n, seed=seed)
    out, db = tmp_path/"job", tmp_path/"job"/"jobs.sqlite"
    env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"} | {"TINYSTORIES_PROGRESS": "0"}
    killer = Killer()
    with FakeOpenAI(fake_teacher(specs, seed=seed), batch_steps=2) as srv:
        srv.hook = killer
        cmd = [sys.executable, "-c", RUN, "generate", "--teacher", "openai", "--batch-api", "--base-url", srv.base_url,
               "--n", str(n), "--seed", str(seed), "--batch-size", str(size), "--poll-s", "0.01", "--out", str(out)]
        for i, plan in enumerate(KILLS):
            proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            killer.arm(proc, plan)
            _, err = proc.communicate(timeout=120)
            assert killer.killed and proc.returncode == -signal.SIGKILL, (i, plan, proc.returncode, err.decode()[-2000:])
            assert srv.idle()                                        # the server finishes what the dead client sent
        killer.arm(None, None)
        r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr
        ideal = 2 * math.ceil(n / size)                              # story batches + summary batches
        print(f"{len(KILLS)} staged kills; accepted {dict(srv.submissions)}, ideal {ideal} each")
        assert dict(srv.submissions) == {"file": ideal, "batch": ideal}, (dict(srv.submissions), ideal)
        asked = collections.Counter()                                # every request line the server was given
        for b in srv.batches.values():
            for line in srv.files[b["input_file_id"]]["data"].decode().splitlines():
                body = json.loads(line)["body"]
                asked[(json.loads(line)["custom_id"], "summary" if body["temperature"] == 0.0 else "story")] += 1
        assert sorted(asked) == sorted((sp.id, k) for sp in specs for k in ("story", "summary")) and set(asked.values()) == {1}
        assert len({b["metadata"]["intent"] for b in srv.batches.values()}) == ideal
    with JobStore(db) as store:
        assert store.counts() == {"pending": 0, "in_flight": 0, "done": n, "invalid": 0, "failed": 0}
        assert not store.open_intents() and not store.open_batches()
        intents = store.db.execute("SELECT status, COUNT(*) FROM intents GROUP BY status").fetchall()
        assert [tuple(x) for x in intents] == [("submitted", ideal)]
    stories = list(read_stories(out/"stories.jsonl"))
    teacher, by_id = OfflineTeacher(seed=seed), {sp.id: sp for sp in specs}
    assert sorted(s.id for s in stories) == sorted(by_id)                       # none lost, none twice
    assert all(s.text == teacher.write(by_id[s.id]).strip() and s.summary for s in stories)

def test_batch_submissions_survive_kills_at_random_instants(tmp_path):
    "A slow server (every batch call answers after 0.1 s) and kills at seeded random moments after each run's first request."
    n, seed, size, kills = 12, 24, 4, 8
    specs = sample_prompts(n, seed=seed)
    out = tmp_path/"job"
    env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"} | {"TINYSTORIES_PROGRESS": "0"}
    rng, started = __import__("random").Random(7), threading.Event()
    with FakeOpenAI(fake_teacher(specs, seed=seed), batch_steps=2) as srv:
        def slow(stage, req):
            if stage == "received": started.set()
            elif stage == "replying" and _what(req) != "other": srv.sleep(0.1)
        srv.hook = slow
        cmd = [sys.executable, "-c", RUN, "generate", "--teacher", "openai", "--batch-api", "--base-url", srv.base_url,
               "--n", str(n), "--seed", str(seed), "--batch-size", str(size), "--poll-s", "0.01", "--out", str(out)]
        killed = 0
        for _ in range(kills):
            started.clear()
            proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            while not started.wait(0.02) and proc.poll() is None: pass      # the run's first request (or its end)
            try: proc.wait(timeout=rng.uniform(0.0, 1.5))
            except subprocess.TimeoutExpired: os.kill(proc.pid, signal.SIGKILL); proc.wait(); killed += 1
            assert proc.returncode in (0, -signal.SIGKILL), proc.stderr.read().decode()[-2000:]
            assert srv.idle()
            if proc.returncode == 0: break                                    # finished before the kill: the job is done
        r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr
        ideal = 2 * math.ceil(n / size)
        print(f"{killed} kills at random instants; accepted {dict(srv.submissions)}, ideal {ideal} each")
        assert killed >= 3, killed                                             # most runs really were killed mid-job
        assert dict(srv.submissions) == {"file": ideal, "batch": ideal}, (dict(srv.submissions), ideal, killed)
        lines = [json.loads(l)["custom_id"] for b in srv.batches.values()
                 for l in srv.files[b["input_file_id"]]["data"].decode().splitlines()]
        assert sorted(lines) == sorted(sp.id for sp in specs for _ in range(2))   # each story and summary asked once
    with JobStore(out/"jobs.sqlite") as store:
        assert store.counts()["done"] == n and not store.open_intents() and not store.open_batches()
    assert sorted(s.id for s in read_stories(out/"stories.jsonl")) == sorted(sp.id for sp in specs)
