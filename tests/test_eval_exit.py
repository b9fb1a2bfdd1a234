"""Honest exit codes for `tinystories eval` (through the CLI's `main`), against a real loopback judge server: every
judge call failing (HTTP 500 forever, or a judge that refuses everything) exits 1 with one line that says so and how
to retry; some failing exits 0, says how many, and a rerun retries only those."""
import contextlib, io, json
import pytest
from conftest import tiny_eval_run
from tinystories_nb.app.cli import main
from tinystories_nb.eval.judge import format_verdict, parse_request, scripted_judge
from tinystories_nb.synth.testing import FakeOpenAI, ok, refusal, status

SCORES = {"grammar": 6, "creativity": 5, "consistency": 4, "plot": 3}

@pytest.fixture(autouse=True)
def no_progress_bars(monkeypatch): monkeypatch.setenv("TINYSTORIES_PROGRESS", "0")      # stderr holds only what the command says

@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    "A tiny untrained checkpoint and three beginnings (two completions each: six stories to judge)."
    return tiny_eval_run(tmp_path_factory.mktemp("evalexit"), 3)

def run(d, out, base_url, *extra):
    "`tinystories eval` in-process: (exit status, stdout, stderr)."
    argv = ["eval", "--ckpt", str(d/"run"), "--out", str(d/out), "--set", str(d/"set.jsonl"), "--n-per-prompt", "2",
            "--max-new-tokens", "16", "--bootstrap", "100", "--probes", "none", "--max-concurrency", "1",
            "--judge", "openai", "--model", "gpt-4o-mini", "--api-key-env", "none", "--base-url", base_url, *extra]
    o, e = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(o), contextlib.redirect_stderr(e): rc = main(argv)
    return rc, o.getvalue(), e.getvalue()

def good(beginning, completion): return {"scores": SCORES, "age_group": "C"}

@pytest.mark.parametrize("name, script, failure", [
    ("http_500_forever", lambda req: status(500), "error 6"),
    ("refuses_everything", lambda req: refusal("I can't help with grading."), "refusal 6"),
    ("apologises_for_everything", lambda req: ok("I'm sorry, but I cannot grade stories."), "refusal 6"),
    ("rambles", lambda req: ok("What a lovely story! Grammar is fine, I guess."), "parse 6"),
])
def test_every_judge_call_failed_exits_1(ckpt, name, script, failure):
    with FakeOpenAI(script) as srv:
        rc, out, err = run(ckpt, name, srv.base_url, "--max-attempts", "2")
        asked = len(srv.chat_requests())
    assert rc == 1, (out, err)
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert f"every judge call failed (6 of 6: {failure}" in err and "no judge scores" in err, err
    assert f"retry with: tinystories eval --ckpt {ckpt/'run'} --out {ckpt/name}" in err and "--base-url" in err, err
    assert asked == (12 if name == "http_500_forever" else 6)             # a 500 is tried twice (--max-attempts 2)
    s = json.loads((ckpt/name/"summary.json").read_text())                 # the automatic metrics are still written
    assert s["judge_tally"]["ok"] == 0 and s["metrics"]["grammar"]["failures"] == 6 and "distinct_1" in s["metrics"]
    # the retry command works: against a healthy judge it grades all six and exits 0
    with FakeOpenAI(scripted_judge(good)) as srv:
        rc, out, err = run(ckpt, name, srv.base_url)
        assert 1 <= len(srv.chat_requests()) <= 6
    assert rc == 0 and err == "" and "judge verdicts failed" not in out, (out, err)
    g = json.loads((ckpt/name/"summary.json").read_text())["metrics"]["grammar"]
    assert (g["mean"], g["n"], g["failures"]) == (6.0, 6, 0)

def test_some_failed_exits_0_and_a_rerun_retries_only_those(ckpt):
    answered = []
    def half(req):                                                         # every other request fails
        answered.append(parse_request(req)["completion"])
        return ok("Grammar: nice.") if len(answered) % 2 == 0 else ok(format_verdict("Fine.", SCORES, "C", parse_request(req)["mode"]))
    with FakeOpenAI(half) as srv:
        rc, out, err = run(ckpt, "half", srv.base_url)
    assert rc == 0 and err == "", err
    s = json.loads((ckpt/"half"/"summary.json").read_text())
    failed = s["judge_tally"]["failed"]
    assert failed >= 1 and s["judge_tally"]["ok"] >= 1
    assert f"{failed} of 6 judge verdicts failed (parse {failed})" in out and "retries only those: tinystories eval" in out, out
    failed_stories = {json.loads(l)["completion"] for l in (ckpt/"half"/"samples.jsonl").read_text().splitlines()
                      if json.loads(l).get("judge") and not json.loads(l)["judge"]["ok"]}
    with FakeOpenAI(scripted_judge(good)) as srv:
        rc, out, err = run(ckpt, "half", srv.base_url)
        again = {parse_request(r)["completion"] for r in srv.chat_requests()}
        assert len(srv.chat_requests()) == len(again)
    assert rc == 0 and again == failed_stories and "judge verdicts failed" not in out
    assert json.loads((ckpt/"half"/"summary.json").read_text())["judge_tally"]["ok"] == 6

def test_no_judge_and_a_fatal_judge_error(ckpt):
    o = io.StringIO()
    with contextlib.redirect_stdout(o):
        assert main(["eval", "--ckpt", str(ckpt/"run"), "--out", str(ckpt/"nojudge"), "--set", str(ckpt/"set.jsonl"),
                     "--n-per-prompt", "1", "--max-new-tokens", "8", "--bootstrap", "100", "--probes", "none"]) == 0
    with FakeOpenAI(lambda req: status(401)) as srv:                       # a wrong key stops grading: a user error, exit 2
        rc, out, err = run(ckpt, "fatal", srv.base_url)
    assert rc == 2 and err.count("\n") == 1 and "401" in err, err
