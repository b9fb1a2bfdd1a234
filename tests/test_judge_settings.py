"""The one judge factory: `Judge.from_settings` builds a judge from plain settings (a sweep's, the pipeline's, the
command line's), and `check_judge_settings` refuses bad ones — unknown names, no model, numbers out of range, a key
missing from the environment — before anything is built or contacted."""
import pytest
from tinystories_nb.core import TinyStoriesError
from tinystories_nb.eval.judge import (Judge, JudgeItem, VerdictCache, check_judge_settings, judge_key_env, judge_settings,
                                       scripted_judge)
from tinystories_nb.synth.testing import FakeOpenAI

KEY = "sk-test-judge-settings-0123456789"
SCORES = {"grammar": 7, "creativity": 6, "consistency": 5, "plot": 4}


def test_settings_are_the_client_and_judge_parameters():
    client, judge = judge_settings()
    assert {"model", "base_url", "api_key_env", "max_concurrency", "budget_usd", "max_attempts"} <= client
    assert {"prompt", "instruct_prompt", "mode", "max_tokens", "prompts_file"} <= judge
    assert "cache" not in client | judge and "client" not in judge


@pytest.mark.parametrize("settings, msg", [
    ({"model": "m", "api_key_env": "none", "temprature": 0}, "judge settings: unknown setting(s) temprature"),
    ({"api_key_env": "none"}, "judge settings: no model"),
    ({"model": "  ", "api_key_env": "none"}, "judge settings: model must be a model name"),
    ({"model": "m", "api_key_env": "none", "max_concurrency": 0}, "max_concurrency must be a whole number of at least 1"),
    ({"model": "m", "api_key_env": "none", "max_concurrency": 2.5}, "max_concurrency must be a whole number"),
    ({"model": "m", "api_key_env": "none", "max_attempts": True}, "max_attempts must be a whole number"),
    ({"model": "m", "api_key_env": "none", "budget_usd": -1}, "budget_usd must be a number above 0"),
    ({"model": "m", "api_key_env": "none", "budget_usd": float("inf")}, "budget_usd must be a number above 0"),
    ({"model": "m", "api_key_env": "none", "timeout": 0}, "timeout must be a number above 0"),
    ({"model": "m", "api_key_env": "none", "max_tokens": 0}, "max_tokens must be a whole number of at least 1"),
    ({"model": "m", "api_key_env": "none", "mode": "yaml"}, "mode must be one of auto, json_schema, text"),
    ({"model": "m", "api_key_env": "none", "base_url": "localhost:8000"}, "base_url must be unset, or an http(s) URL"),
    ({"model": "m", "api_key_env": "TS_SURELY_UNSET_JUDGE_KEY"}, "environment variable TS_SURELY_UNSET_JUDGE_KEY is not set"),
])
def test_bad_settings_are_one_line_errors(settings, msg):
    with pytest.raises(TinyStoriesError) as e: check_judge_settings(settings)
    assert msg in str(e.value) and "\n" not in e.value.msg
    with pytest.raises(TinyStoriesError, match="unknown setting|no model|must be|is not set"): Judge.from_settings(settings)


def test_the_caller_names_its_settings():
    with pytest.raises(TinyStoriesError, match=r"^pipeline \[judge\]: unknown setting\(s\) modl"):
        check_judge_settings({"modl": "m"}, "pipeline [judge]")
    with pytest.raises(TinyStoriesError, match="expected a mapping"): check_judge_settings(["model"])


def test_the_default_key_and_none(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    assert judge_key_env({}) == "OPENAI_API_KEY"
    with pytest.raises(TinyStoriesError, match="OPENAI_API_KEY is not set"): check_judge_settings({"model": "m"})
    for none in ("none", "NONE", "", None):
        assert judge_key_env({"api_key_env": none}) is None
        check_judge_settings({"model": "m", "api_key_env": none})              # a local server without auth
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    check_judge_settings({"model": "m"})


def test_checking_builds_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    check_judge_settings({"model": "m", "api_key_env": "none", "prompts_file": str(tmp_path/"missing.json")})
    assert list(tmp_path.iterdir()) == []


def test_from_settings_builds_a_working_judge(tmp_path, monkeypatch):
    monkeypatch.setenv("TS_JUDGE_SETTINGS_KEY", KEY)
    with FakeOpenAI(scripted_judge(lambda b, c: {"scores": SCORES, "age_group": "C"}), require_key=KEY) as srv:
        judge = Judge.from_settings({"model": "gpt-4o-mini", "base_url": srv.base_url, "api_key_env": "TS_JUDGE_SETTINGS_KEY",
                                     "max_concurrency": 3, "max_attempts": 2, "budget_usd": 1.0, "mode": "text", "max_tokens": 200,
                                     "prompt": "story@1"}, cache=tmp_path/"verdicts.sqlite")
        assert (judge.client.model, judge.client.max_concurrency, judge.client.max_attempts, judge.client.budget_usd) == ("gpt-4o-mini", 3, 2, 1.0)
        assert (judge.mode, judge.max_tokens, judge.prompt.ref, judge.client.api_key_env) == ("text", 200, "story@1", "TS_JUDGE_SETTINGS_KEY")
        assert isinstance(judge.cache, VerdictCache) and judge.cache.path == tmp_path/"verdicts.sqlite"
        v, = judge.grade([JudgeItem("b1/0", "Tom saw a", " big dog. It was happy.")])
        assert v.ok and v.scores == SCORES and v.mode == "text"
        assert all(r["auth"] for r in srv.requests)
    assert len(VerdictCache(tmp_path/"verdicts.sqlite")) == 1
    assert KEY not in (tmp_path/"verdicts.sqlite").read_bytes().decode("latin-1")


def test_from_settings_without_a_cache_and_a_subclass():
    class MyJudge(Judge): pass
    j = MyJudge.from_settings({"model": "m", "api_key_env": "none"})
    assert type(j) is MyJudge and j.cache is None and j.client.api_key_env is None and j.mode == "auto"
