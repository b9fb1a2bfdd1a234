"""`tinystories prepare`'s progress bar ends at exactly 100%: its total is the input files' bytes, and it is
advanced in the same unit, topped up to each file's size (separators, JSON syntax and Instruct headers included)."""
import contextlib, io, re
import pytest
import tinystories_nb.data.tokenize as tk
from tinystories_nb.app.cli import main
from tinystories_nb.data.stories import Story, read_stories, write_jsonl
from tinystories_nb.synth.samples import sample_path


@pytest.fixture
def bars(monkeypatch):
    "Every progress bar `prepare` makes, with bars switched on."
    monkeypatch.setenv("TINYSTORIES_PROGRESS", "1")
    made, real = [], tk.progress
    def recording(*a, **kw):
        made.append(b := real(*a, **kw)); return b
    monkeypatch.setattr(tk, "progress", recording)
    return made


def _run(args) -> str:
    with contextlib.redirect_stderr(io.StringIO()) as err, contextlib.redirect_stdout(io.StringIO()):
        assert main(["prepare", *args, "--vocab-size", "300"]) == 0
    return err.getvalue()


def test_bar_ends_at_100_percent(tmp_path, bars):
    err = _run([str(sample_path()), "--out", str(tmp_path/"p")])
    assert len(bars) == 1 and bars[0].n == bars[0].total == sample_path().stat().st_size
    last = [l for l in re.split(r"[\r\n]", err) if l.startswith("prepare:")][-1]
    assert "100%" in last, last


def test_several_inputs_and_formats(tmp_path, bars):
    texts = [s.text for s in read_stories(sample_path())][:200]
    write_jsonl([Story(t, words=["a", "b"]) for t in texts[:100]], tmp_path/"a.jsonl")
    write_jsonl([Story(t) for t in texts[100:]], tmp_path/"b.jsonl")
    err = _run([str(tmp_path/"a.jsonl"), str(tmp_path/"b.jsonl"), "--out", str(tmp_path/"p")])
    size = (tmp_path/"a.jsonl").stat().st_size + (tmp_path/"b.jsonl").stat().st_size
    assert bars[-1].n == bars[-1].total == size
    assert "100%" in [l for l in re.split(r"[\r\n]", err) if l.startswith("prepare:")][-1]
