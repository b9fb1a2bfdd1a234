"""Judge failures are never final: a refusal, a malformed or cut-off reply, a content-filter stop or a request that
keeps failing is recorded but not cached, so the next run against a healthy judge asks again for exactly those items
(counted on the real loopback server) and serves the good verdicts from the cache."""
import json, sqlite3
from tinystories_nb.eval.judge import Judge, JudgeItem, VerdictCache, parse_request, scripted_judge
from tinystories_nb.synth.llm import LLMClient
from tinystories_nb.synth.testing import FakeOpenAI, ok, refusal, status

BEGINNING = "Once upon a time, a little"
ITEMS = [JudgeItem(f"s{i}", BEGINNING, f" bird sang song number {i}.") for i in range(7)]
GOOD = {"scores": {"grammar": 7, "creativity": 5, "consistency": 6, "plot": 4}, "age_group": "B"}
BROKEN = {                                   # what the unhealthy judge answers for items 1-6 (item 0 is graded)
    ITEMS[1].completion: ok("I'm sorry, but I can't grade this story."),
    ITEMS[2].completion: ok("Grammar: quite good, I would say 7."),
    ITEMS[3].completion: refusal("I can't help with that."),
    ITEMS[4].completion: ok("", finish_reason="content_filter"),
    ITEMS[5].completion: ok('{"assessment": "The student', finish_reason="length"),
    ITEMS[6].completion: status(500),
}
EXPECTED = [None, "refusal", "parse", "refusal", "refusal", "truncated", "error"]

def unhealthy(beginning, completion): return BROKEN.get(completion, GOOD)
def healthy(beginning, completion): return GOOD
def client(srv): return LLMClient("gpt-4o-mini", base_url=srv.base_url, api_key_env=None, max_attempts=2, backoff=0.01)
def asked(srv): return sorted(parse_request(r)["completion"] for r in srv.chat_requests())

def test_failures_are_asked_again_on_the_next_run(tmp_path):
    with FakeOpenAI(scripted_judge(unhealthy)) as srv:
        first = Judge(client(srv), cache=tmp_path).grade(ITEMS)
    assert [v.failure for v in first] == EXPECTED
    assert len(VerdictCache(tmp_path)) == 1                                  # only the good verdict is stored
    with FakeOpenAI(scripted_judge(healthy)) as srv:
        second = Judge(client(srv), cache=tmp_path).grade(ITEMS)
        assert asked(srv) == sorted(it.completion for it in ITEMS[1:])       # exactly the failed items, once each
    assert [v.ok for v in second] == [True] * 7 and [v.cached for v in second] == [True] + [False] * 6
    assert all(v.scores == GOOD["scores"] for v in second)
    with FakeOpenAI(lambda req: status(500)) as srv:                         # now everything is final: nothing is asked
        third = Judge(client(srv), cache=tmp_path).grade(ITEMS)
        assert srv.chat_requests() == []
    assert [v.scores for v in third] == [v.scores for v in second] and all(v.cached for v in third)

def test_a_failure_that_fails_again_is_asked_again_each_run(tmp_path):
    for run in range(3):
        with FakeOpenAI(scripted_judge(unhealthy)) as srv:
            vs = Judge(client(srv), cache=tmp_path).grade(ITEMS[:3])
            assert len(srv.chat_requests()) == (3 if run == 0 else 2)        # the good one is cached after the first run
        assert [v.failure for v in vs] == EXPECTED[:3]

def test_failures_cached_by_an_older_version_are_not_served(tmp_path):
    "A cache written before this rule may hold failures: they are asked again, and replaced by the good verdict."
    with FakeOpenAI(scripted_judge(unhealthy)) as srv:
        judge = Judge(client(srv), cache=tmp_path)
        failed = judge.grade(ITEMS[1:3])
    db = sqlite3.connect(tmp_path/"judge_cache.sqlite")
    for it, v in zip(ITEMS[1:3], failed):                                   # write them the way the old version did
        db.execute("INSERT OR REPLACE INTO verdicts VALUES (?, ?, ?, ?, ?, ?)",
                   (judge.key(it), VerdictCache.text_sha(it), v.judge_model, v.prompt["sha"], 0.0, json.dumps(v.to_dict())))
    db.commit(); db.close()
    with FakeOpenAI(scripted_judge(healthy)) as srv:
        vs = Judge(client(srv), cache=tmp_path).grade(ITEMS[1:3])
        assert len(srv.chat_requests()) == 2
    assert [v.ok for v in vs] == [True, True]
    with FakeOpenAI(scripted_judge(healthy)) as srv:
        assert all(v.cached for v in Judge(client(srv), cache=tmp_path).grade(ITEMS[1:3])) and srv.chat_requests() == []
