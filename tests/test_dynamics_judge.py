"""Training dynamics with an LLM judge, against a real loopback OpenAI-compatible server: every checkpoint is judged,
the scores are in the table, and evaluating again — from Python or with `tinystories dynamics` and the same settings —
reuses every result without a single request."""
import contextlib, io, itertools
from tinystories_nb.app.cli import main
from tinystories_nb.synth.samples import sample_path
from tinystories_nb.studies.dynamics import DynamicsConfig, evaluate_run
from tinystories_nb.eval.evalsets import load_beginnings
from tinystories_nb.eval.judge import scripted_judge
from tinystories_nb.synth.testing import FakeOpenAI
from tinystories_nb.data.tokenize import PrepareConfig, prepare
from tinystories_nb.model.train import TrainConfig, train

KEY = "sk-dynamics-test-0123456789"


CALLS = itertools.count()

def grade(beginning, completion):
    "Each request gets a higher grammar score than the one before: the later checkpoint's mean is higher."
    return {"scores": {"grammar": min(10, 1 + next(CALLS)), "creativity": 3, "consistency": 4, "plot": 2}, "age_group": "A"}


def test_dynamics_with_judge(tmp_path, monkeypatch):
    data = prepare(sample_path(), tmp_path/"data", cfg=PrepareConfig(vocab_size=512))
    train(TrainConfig(preset="tiny", model={"block_size": 96}, max_steps=6, batch_size=4, warmup_steps=1, eval_every=3,
                      eval_tokens=1024, keep_last=0, device="cpu"), data, out=tmp_path/"run")
    (tmp_path/"b.txt").write_text("\n".join(b.text for b in list(load_beginnings())[:2]))
    ev = dict(evalset=str(tmp_path/"b.txt"), n_per_prompt=2, max_new_tokens=8, probes=None, bootstrap=100)
    monkeypatch.setenv("TS_DYN_TEST_KEY", KEY)
    with FakeOpenAI(scripted_judge(grade), require_key=KEY) as srv:
        judge = {"model": "judge-test", "base_url": srv.base_url, "api_key_env": "TS_DYN_TEST_KEY"}
        df = evaluate_run(tmp_path/"run", tmp_path/"dyn", DynamicsConfig(eval=ev, judge=judge, device="cpu"))
        assert df.index.tolist() == [3, 6]
        assert len(srv.requests) == 8                                  # 2 checkpoints x 2 beginnings x 2 completions
        assert (df["creativity"] == 3).all() and df["grammar"].between(1, 10).all()
        assert df["val_bpb"].notna().all()

        df2 = evaluate_run(tmp_path/"run", tmp_path/"dyn", DynamicsConfig(eval=ev, judge=judge, device="cpu"))
        assert len(srv.requests) == 8 and df2.equals(df)                # all reused

        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            rc = main(["dynamics", "--run", str(tmp_path/"run"), "--out", str(tmp_path/"dyn"), "--set", str(tmp_path/"b.txt"),
                       "--n-per-prompt", "2", "--max-new-tokens", "8", "--probes", "none", "--bootstrap", "100", "--device", "cpu",
                       "--judge", "openai", "--model", "judge-test", "--base-url", srv.base_url, "--api-key-env", "TS_DYN_TEST_KEY"])
        assert rc == 0, out.getvalue()
        assert len(srv.requests) == 8                                  # the command found the same results
        assert "grammar" in out.getvalue()
    for p in (tmp_path/"dyn").rglob("*"):
        if p.is_file(): assert KEY.encode() not in p.read_bytes(), p
