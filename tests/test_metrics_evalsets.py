"""The shipped eval sets: content checks that read the data files (sizes, ids, mid-sentence cuts, probe answers that
score, Instruct words from the child vocabulary, prompts that round-trip through the Instruct reader) and bad user files."""
import re
from collections import Counter
from pathlib import Path
import pytest
from tinystories_nb.core import TinyStoriesError, package_data
from tinystories_nb.data.stories import format_instruct, read_instruct
from tinystories_nb.eval.evalsets import (INSTRUCT_KINDS, PROBE_CATEGORIES, list_evalsets, load_beginnings, load_instruct_set,
                                     load_probes, read_evalset, score_probe)
from tinystories_nb.synth.vocab import load_features, load_vocab

def test_shipped_files_are_named_after_their_header():
    assert list_evalsets() == ["beginnings@1", "instruct_eval@1", "probes@1"]
    for p in sorted(package_data("evalsets").glob("*.jsonl")):
        es = read_evalset(p)
        assert f"{es.name}_v{es.version}" == p.stem and es.description

def test_beginnings():
    bs = load_beginnings()
    assert len(bs) >= 50 and len({b.text for b in bs}) == len(bs)
    assert bs.ids == [f"b{i:03d}" for i in range(1, len(bs) + 1)]
    for b in bs:
        assert b.text == b.text.strip() and not re.search(r"[.!?]['\"”]?$", b.text), b.id     # cut mid-sentence
        assert 15 <= len(b.text.split()) <= 60 and b.original is None, b.id
    openings = Counter(" ".join(b.text.split()[:3]) for b in bs)
    assert openings.most_common(1)[0][1] <= 8                                                # varied openings

def test_probes_score_their_own_answers():
    probes = load_probes()
    counts = Counter(p.category for p in probes)
    assert set(counts) == set(PROBE_CATEGORIES) and min(counts.values()) >= 15
    for p in probes:
        assert p.prompt == p.prompt.rstrip() or p.prompt.endswith('"'), p.id
        assert not {a.lower() for a in p.answers} & {w.lower() for w in p.wrong}, p.id
        if p.answers: assert score_probe(p, f" {p.answers[0]}.")
        for w in p.wrong: assert not score_probe(p, f" {w}."), (p.id, w)
        assert not score_probe(p, " and then they all went home."), p.id

def test_instruct_set():
    items, vocab, labels = load_instruct_set(), load_vocab(), {f.label for f in load_features()}
    kinds = Counter(i.kind for i in items)
    assert set(kinds) == set(INSTRUCT_KINDS) and min(kinds.values()) >= 6
    assert {i.id for i in items if i.ood} == {i.id for i in items if i.kind == "words+summary"} and kinds["words+summary"] >= 10
    for i in items:
        if i.words: assert [vocab.get(w).pos if vocab.get(w) else None for w in i.words] == ["verb", "noun", "adjective"], i.id
        if i.features: assert set(i.features) <= labels, i.id

def test_instruct_prompts_round_trip(tmp_path):
    items = load_instruct_set()
    p = tmp_path/"instruct.txt"
    p.write_text("".join(format_instruct(i.story(f"Story number {k}.")) for k, i in enumerate(items)), encoding="utf-8")
    back = list(read_instruct(p))
    assert len(back) == len(items)
    for i, b in zip(items, back):
        assert (b.words, b.features, b.summary, b.sentence) == (i.words, i.features, i.summary, i.sentence)
        assert format_instruct(i.story("x")).startswith(i.prompt) and i.prompt.endswith("Story: \n\n")

@pytest.mark.parametrize("name,text,msg", [
    ("empty.jsonl", "", "holds no items"),
    ("bad.jsonl", '{"text": "A"}\n{"text": "B\n{"text": "C"}\n', "line 2 is not valid JSON"),
    ("probe.jsonl", '{"id": "p", "category": "factual", "prompt": "The cat sat on the", "answers": []}\n', "(p): no accepted answers"),
    ("bin.jsonl", b"\xff\xfe\x00", "is not UTF-8 text"),
    ("x.csv", "a,b\n", "unknown extension '.csv'"),
])
def test_bad_user_files(tmp_path, name, text, msg):
    p = tmp_path/name
    p.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(TinyStoriesError, match=re.escape(msg)) as e:
        (load_probes if name.startswith("probe") else load_beginnings)(p)
    assert str(p) in str(e.value) and "\n" not in str(e.value)

def test_a_cut_off_last_line_is_skipped_with_a_warning(tmp_path, caplog):
    p = tmp_path/"cut.jsonl"
    p.write_text('{"text": "A"}\n{"text": "B', encoding="utf-8")          # a crash while appending the second item
    assert [b.text for b in load_beginnings(p)] == ["A"]
    assert "line 2 was cut off" in caplog.text
