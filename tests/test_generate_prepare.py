"""The issue's "done when": `tinystories generate --teacher offline --n 2000` writes a valid, varied corpus in
seconds that `tinystories prepare` accepts as it is (nothing cleaned away, no duplicates)."""
import contextlib, io, json, time
from tinystories_nb.app.cli import main
from tinystories_nb.data.stories import read_stories
from tinystories_nb.data.text import corpus_stats

def test_offline_2000_then_prepare(tmp_path, monkeypatch):
    monkeypatch.setenv("TINYSTORIES_PROGRESS", "0")
    t0 = time.time()
    with contextlib.redirect_stdout(io.StringIO()) as out:
        assert main(["generate", "--teacher", "offline", "--n", "2000", "--out", str(tmp_path/"gen")]) == 0
    seconds = time.time() - t0
    assert out.getvalue().startswith("2000 stories in ")
    assert seconds < 60, seconds
    stories = list(read_stories(tmp_path/"gen"/"stories.jsonl"))
    assert len(stories) == 2000 and len({s.text for s in stories}) == 2000
    st = corpus_stats(stories)
    assert st["required_words"] > 1000 and st["distinct_3"] > 0.15 and st["once_upon_a_time"] < 0.9, st
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["prepare", str(tmp_path/"gen"/"stories.jsonl"), "--out", str(tmp_path/"prep"), "--vocab-size", "512"]) == 0
    m = json.loads((tmp_path/"prep"/"manifest.json").read_text())
    assert m["splits"]["train"]["stories"] + m["splits"]["val"]["stories"] == 2000
    assert sum(m["cleaning"]["removed"].values()) == 0
