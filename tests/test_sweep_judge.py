"""A sweep with an LLM judge, against a real loopback OpenAI-compatible server: the judge settings and the API key
reach each cell's process (the key only through memory), the judge's scores land in the sweep table, and a missing
key stops the sweep before any training."""
import pytest
from tinystories_nb.core import TinyStoriesError
from tinystories_nb.synth.samples import sample_path
from tinystories_nb.eval.evalsets import load_beginnings
from tinystories_nb.eval.judge import scripted_judge
from tinystories_nb.studies.sweep import SweepConfig, run_sweep
from tinystories_nb.synth.testing import FakeOpenAI
from tinystories_nb.data.tokenize import PrepareConfig, prepare

SCORES = {"grammar": 7, "creativity": 4, "consistency": 6, "plot": 5}
KEY = "sk-sweep-test-0123456789"


def test_sweep_with_judge(tmp_path, monkeypatch):
    prepare(sample_path(), tmp_path/"data", cfg=PrepareConfig(vocab_size=512))
    (tmp_path/"b.txt").write_text("\n".join(b.text for b in list(load_beginnings())[:3]))
    monkeypatch.setenv("TS_SWEEP_TEST_KEY", KEY)
    with FakeOpenAI(scripted_judge(lambda beginning, completion: {"scores": SCORES, "age_group": "B"}), require_key=KEY) as srv:
        cfg = SweepConfig(data=str(tmp_path/"data"), layers=[1], widths=[16], head_dim=8, preset="tiny", model={"block_size": 96},
                          train=dict(max_steps=4, batch_size=4, warmup_steps=1, eval_every=4, eval_tokens=1024, device="cpu"),
                          eval=dict(evalset=str(tmp_path/"b.txt"), n_per_prompt=2, max_new_tokens=8, probes=None, bootstrap=100),
                          judge={"model": "judge-test", "base_url": srv.base_url, "api_key_env": "TS_SWEEP_TEST_KEY", "max_concurrency": 2})
        res = run_sweep(cfg, tmp_path/"sweep")
        assert res.ok, res.failures
        assert len(srv.requests) == 6                                  # 3 beginnings x 2 completions, each graded once
    row = res.table.loc["L1_D16_H2"]
    for k, v in SCORES.items(): assert (row[k], row[f"{k}_ci_low"], row[f"{k}_ci_high"]) == (v, v, v)
    for p in (tmp_path/"sweep").rglob("*"):                           # the key is in no file the sweep wrote
        if p.is_file(): assert KEY.encode() not in p.read_bytes(), p

    monkeypatch.delenv("TS_SWEEP_TEST_KEY")
    with pytest.raises(TinyStoriesError, match="TS_SWEEP_TEST_KEY is not set"):
        run_sweep(cfg.replace(layers=[2]), tmp_path/"sweep")
    assert not (tmp_path/"sweep"/"runs"/"L2_D16_H2").exists()
