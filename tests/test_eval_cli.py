"""`tinystories eval` as a user runs it (a separate process), against a real loopback OpenAI-compatible server whose
scripted judge answers well-formed, malformed, refusing and injected replies and throws 429s and 500s: exact
aggregates, failures counted, a re-run that asks again for exactly the failed stories and then for nothing, the key
never written, clear errors for bad input (numbers out of range refused before the model is loaded)."""
import hashlib, json, os, subprocess, sys, threading
from pathlib import Path
import numpy as np
import pytest
from tinystories_nb.synth.testing import FakeOpenAI, ok, status
from tinystories_nb.eval.judge import format_verdict, parse_request

ROOT = Path(__file__).resolve().parent.parent
KEY = "sk-eval-test-secret-0123456789abcdef"

@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    "A tiny checkpoint (untrained, with a BPE trained on the real sample) and four beginnings, one of them injected."
    import torch
    from tinystories_nb.model.checkpoint import save_checkpoint
    from tinystories_nb.synth.samples import sample_path
    from tinystories_nb.data.stories import EOT
    from tinystories_nb.eval.evalsets import Beginning, EvalSet, load_beginnings
    from tinystories_nb.model.gpt import GPT, preset
    from tinystories_nb.data.tokenize import train_tokenizer
    d = tmp_path_factory.mktemp("evalcli")
    stories = [s.strip() for s in sample_path().read_text(encoding="utf-8").split(EOT) if s.strip()]
    tok = train_tokenizer(stories[:200], vocab_size=512)
    torch.manual_seed(0)
    save_checkpoint(d/"run"/"ckpt", 7, GPT(preset("tiny", vocab_size=512, block_size=128)), tokenizer=tok)
    EvalSet("four", 1, "beginnings", load_beginnings().items[:4]).save(d/"four.jsonl")
    EvalSet("long", 1, "beginnings", [Beginning("too-long", " ".join(stories[:5]))]).save(d/"long.jsonl")
    return d

def tinystories(*args, env_extra=None):
    env = {**os.environ, "TINYSTORIES_PROGRESS": "0", **(env_extra or {})}
    return subprocess.run([str(Path(sys.executable).parent/"tinystories"), *map(str, args)], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=300)

def h(text: str) -> int: return int(hashlib.sha256(text.encode()).hexdigest(), 16)

def judge_script():
    """Grade by a hash of the completion: scores from it; every 5th story a malformed reply, every 7th a refusal; a 500
    on the first try of every 3rd and a 429 on the first try of every 4th (retried by the client)."""
    tries, lock = {}, threading.Lock()
    def script(req):
        r = parse_request(req)
        c = r["completion"]; k = h(c)
        with lock: tries[c] = tries.get(c, 0) + 1; n = tries[c]
        if n == 1 and k % 3 == 0: return status(500)
        if n == 1 and k % 4 == 1: return status(429, retry_after=0.01)
        if k % 5 == 0: return ok("Grammar: pretty good, I would say 7.")
        if k % 7 == 0: return ok("I'm sorry, but I can't help with grading this.")
        return ok(format_verdict("Scripted.", expected_scores(c), "ABCDEF"[k % 6], r["mode"]))
    return script

def expected_scores(c: str) -> dict:
    k = h(c)
    return {"grammar": 1 + k % 10, "creativity": 1 + (k // 10) % 10, "consistency": 1 + (k // 100) % 10, "plot": 1 + (k // 1000) % 10}

def expected_failure(c: str):
    k = h(c)
    return "parse" if k % 5 == 0 else "refusal" if k % 7 == 0 else None

def test_eval_with_judge_exact_aggregates_and_cache(setup):
    d = setup
    args = ["eval", "--ckpt", d/"run", "--out", d/"eval", "--set", d/"four.jsonl", "--n-per-prompt", "5", "--max-new-tokens", "24",
            "--bootstrap", "200", "--judge", "openai", "--model", "gpt-4o-mini", "--api-key-env", "TS_TEST_EVAL_KEY"]
    with FakeOpenAI(judge_script(), require_key=KEY) as srv:
        r = tinystories(*args, "--base-url", srv.base_url, env_extra={"TS_TEST_EVAL_KEY": KEY})
        first_requests = len(srv.chat_requests())
    assert r.returncode == 0, r.stderr
    summary = json.loads((d/"eval"/"summary.json").read_text())
    recs = [json.loads(l) for l in (d/"eval"/"samples.jsonl").read_text().splitlines()]
    beg = [x for x in recs if x["kind"] == "beginning"]
    assert len(beg) == 20
    fails = [expected_failure(x["completion"]) for x in beg]
    assert [x["judge"]["failure"] for x in beg] == fails
    good = [x for x, f in zip(beg, fails) if f is None]
    for cat in ("grammar", "creativity", "consistency", "plot"):
        m = summary["metrics"][cat]
        assert m["n"] == len(good) and m["failures"] == 20 - len(good)
        assert m["mean"] == pytest.approx(np.mean([expected_scores(x["completion"])[cat] for x in good]))
        assert m["ci_low"] <= m["mean"] <= m["ci_high"]
        assert [x["judge"]["scores"][cat] for x in good] == [expected_scores(x["completion"])[cat] for x in good]
    tally = summary["judge_tally"]
    assert tally["failures"]["parse"] == fails.count("parse") and tally["failures"]["refusal"] == fails.count("refusal")
    assert tally["failures"]["error"] == 0
    faults = sum(h(x["completion"]) % 3 == 0 or h(x["completion"]) % 4 == 1 for x in {x["completion"]: x for x in beg}.values())
    distinct = len({x["completion"] for x in beg})
    assert first_requests == distinct + faults                    # one request per distinct story, plus one per fault
    failed = [x for x in beg if x["judge"]["failure"]]
    assert all(x["judge"]["reply"] and x["judge"]["messages"] for x in failed)   # raw reply and rendered prompt kept
    assert "grammar" in r.stdout and "wrote" in r.stdout
    n_failed = fails.count("parse") + fails.count("refusal")
    assert n_failed == 0 or f"{n_failed} of 20 judge verdicts failed" in r.stdout and "retries only those" in r.stdout
    # failures are not final: a re-run against a healthy judge asks again for exactly the failed stories
    def healthy(req):
        c = parse_request(req)["completion"]
        return ok(format_verdict("Scripted.", expected_scores(c), "ABCDEF"[h(c) % 6], parse_request(req)["mode"]))
    with FakeOpenAI(healthy, require_key=KEY) as srv:
        r2 = tinystories(*args, "--base-url", srv.base_url, env_extra={"TS_TEST_EVAL_KEY": KEY})
        assert r2.returncode == 0, r2.stderr
        retried = sorted(parse_request(q)["completion"] for q in srv.chat_requests())
    assert set(retried) == {x["completion"] for x in failed} and len(retried) <= len(failed)   # the failed stories, no good one
    healed = json.loads((d/"eval"/"summary.json").read_text())
    for cat in ("grammar", "creativity", "consistency", "plot"):
        assert healed["metrics"][cat]["n"] == 20 and healed["metrics"][cat]["failures"] == 0
        assert healed["metrics"][cat]["mean"] == pytest.approx(np.mean([expected_scores(x["completion"])[cat] for x in beg]))
    assert "judge verdicts failed" not in r2.stdout
    # now every verdict is final: a server that would fail every request is never called
    with FakeOpenAI(lambda req: status(500)) as srv:
        r3 = tinystories(*args, "--base-url", srv.base_url, env_extra={"TS_TEST_EVAL_KEY": KEY})
        assert r3.returncode == 0, r3.stderr
        assert srv.chat_requests() == []
    again = json.loads((d/"eval"/"summary.json").read_text())
    assert again["metrics"] == healed["metrics"] and again["judge_tally"]["cached"] == 20
    assert again["evalsets"]["beginnings"]["cached"] is True
    for f in (d/"eval").rglob("*"):
        if f.is_file(): assert KEY.encode() not in f.read_bytes(), f

def test_eval_offline_and_text_fallback(setup):
    d = setup
    r = tinystories("eval", "--ckpt", d/"run", "--out", d/"offline", "--set", d/"four.jsonl", "--n-per-prompt", "2",
                    "--max-new-tokens", "16", "--bootstrap", "200")
    assert r.returncode == 0, r.stderr
    s = json.loads((d/"offline"/"summary.json").read_text())
    assert s["judge"] is None and "grammar" not in s["metrics"] and s["metrics"]["distinct_1"]["n"] == 8
    assert {"probe_factual", "probe_reasoning", "probe_context"} <= set(s["metrics"])
    html = (d/"offline"/"report.html").read_text()
    assert "data:image/png;base64," in html and "automatic metrics only" in html
    # a server without structured output: the judge falls back to the strict text format
    def text_only(req):
        r = parse_request(req)
        if r["mode"] == "json_schema": return status(400)
        return ok(format_verdict("Fine.", {"grammar": 7, "creativity": 6, "consistency": 5, "plot": 4}, "C", "text"))
    with FakeOpenAI(text_only) as srv:
        r = tinystories("eval", "--ckpt", d/"run", "--out", d/"offline", "--set", d/"four.jsonl", "--n-per-prompt", "2",
                        "--max-new-tokens", "16", "--bootstrap", "200", "--judge", "openai", "--model", "local-model",
                        "--base-url", srv.base_url, "--api-key-env", "none")
    assert r.returncode == 0, r.stderr
    s = json.loads((d/"offline"/"summary.json").read_text())
    assert s["metrics"]["grammar"]["mean"] == 7 and s["metrics"]["age"]["mean"] == 6.5 and s["evalsets"]["beginnings"]["cached"]
    recs = [json.loads(l) for l in (d/"offline"/"samples.jsonl").read_text().splitlines() if '"beginning"' in l]
    assert {x["judge"]["mode"] for x in recs if x["kind"] == "beginning"} == {"text"}

@pytest.mark.parametrize("argv, msg", [
    (["--ckpt", "{d}/missing_run"], "checkpoint not found"),
    (["--ckpt", "{d}/run", "--set", "{d}/no_such_set.jsonl"], "eval set file not found"),
    (["--ckpt", "{d}/run", "--set", "{d}/long.jsonl"], "beginning too-long is"),
    (["--ckpt", "{d}/run", "--set", "{d}/long.jsonl"], "block_size 128"),
    (["--ckpt", "{d}/run", "--n-per-prompt", "0"], "n_per_prompt must be at least 1"),
    # numbers out of range are refused before the model is loaded: the checkpoint does not even exist
    (["--ckpt", "{d}/missing_run", "--temperature", "nan"], "'nan' is not a finite number"),
    (["--ckpt", "{d}/missing_run", "--temperature", "inf"], "'inf' is not a finite number"),
    (["--ckpt", "{d}/missing_run", "--temperature", "-1"], "temperature must be 0 (greedy) or from 0.001 to 100"),
    (["--ckpt", "{d}/missing_run", "--top-p", "0"], "top_p must be unset, or in (0, 1]"),
    (["--ckpt", "{d}/missing_run", "--top-p", "nan"], "'nan' is not a finite number"),
    (["--ckpt", "{d}/missing_run", "--top-k", "-3"], "top_k must be unset, or a whole number >= 0"),
    (["--ckpt", "{d}/missing_run", "--max-new-tokens", "0"], "max_new_tokens must be at least 1"),
    (["--ckpt", "{d}/missing_run", "--probe-max-new-tokens", "-1"], "probe_max_new_tokens must be at least 1"),
    (["--ckpt", "{d}/missing_run", "--batch-size", "0"], "batch_size must be at least 1"),
    (["--ckpt", "{d}/missing_run", "--seed", "-1"], "seed must be a whole number >= 0"),
    (["--ckpt", "{d}/missing_run", "--bootstrap", "99"], "bootstrap must be from 100 to 1000000"),
    (["--ckpt", "{d}/missing_run", "--judge", "openai", "--model", "m", "--api-key-env", "none", "--max-concurrency", "0"],
     "--max-concurrency must be from 1 to 1024, got 0"),
    (["--ckpt", "{d}/missing_run", "--judge", "openai", "--model", "m", "--api-key-env", "none", "--max-attempts", "0"],
     "--max-attempts must be from 1 to 100, got 0"),
    (["--ckpt", "{d}/missing_run", "--judge", "openai", "--model", "m", "--api-key-env", "none", "--judge-max-tokens", "0"],
     "--judge-max-tokens must be at least 1, got 0"),
    (["--ckpt", "{d}/missing_run", "--judge", "openai", "--model", "gpt-4o", "--api-key-env", "none", "--budget-usd", "-2"],
     "--budget-usd must be more than 0"),
    (["--ckpt", "{d}/missing_run", "--judge", "openai", "--model", "gpt-4o", "--api-key-env", "none", "--budget-usd", "nan"],
     "'nan' is not a finite number"),
])
def test_bad_input_is_one_line(setup, argv, msg, capsys):
    from tinystories_nb.app.cli import main                     # in-process: the same code path as the command, without the start-up
    d = setup
    assert main(["eval", "--out", str(d/"bad"), *[a.format(d=d) for a in argv]]) == 2
    err = capsys.readouterr().err
    assert msg in err and err.count("\n") == 1 and "Traceback" not in err, err
    assert not (d/"bad").exists()
