"""The offline teacher on every vocabulary word, its determinism across processes, and Instruct round trips."""
import hashlib, random, subprocess, sys
import pytest
from tinystories_nb.synth.prompts import PromptSpec, build_instruct, format_instruct, sample_prompts
from tinystories_nb.synth.engine import FEATURE_BEATS, OfflineTeacher
from tinystories_nb.synth.teachers import validate_story
from tinystories_nb.synth.vocab import load_vocab

def _specs_for_every_word(k: int = 3):
    v, rng = load_vocab(), random.Random(1)
    n = max(len(v.nouns), len(v.verbs), len(v.adjectives))
    for i in range(n):
        for j in range(k):
            feats = sorted(rng.sample(FEATURE_BEATS, rng.choice([0, 1, 2, 3, 6])))
            yield PromptSpec(f"t{i}-{j}", {"verb": v.verbs[(i + 31 * j) % len(v.verbs)].base,
                                           "noun": v.nouns[(i + 17 * j) % len(v.nouns)].base,
                                           "adjective": v.adjectives[(i + 7 * j) % len(v.adjectives)].base}, feats, "gpt4", 1, "", "", 0)

def test_every_word_makes_a_valid_story():
    t = OfflineTeacher(seed=3)
    bad = []
    for s in _specs_for_every_word():
        text = t.write(s)
        if r := validate_story(text, s, min_words=100, max_words=250): bad.append((s.words, s.features, r))
        if "{" in text or "}" in text or "  " in text: bad.append((s.words, "template left-overs", text))
        summary = t.summarize(text, s)
        if not summary.endswith(".") or "{" in summary: bad.append((s.words, "summary", summary))
    assert not bad, bad[:5]

def test_same_stories_in_another_process():
    "Stories depend only on (seed, spec): not on hash randomisation or on what was written before."
    code = ("import hashlib; from tinystories_nb.synth.prompts import sample_prompts; from tinystories_nb.synth.engine import OfflineTeacher; "
            "t = OfflineTeacher(seed=5); print(hashlib.sha256(''.join(t.write(s) for s in sample_prompts(300, seed=9)[::-1]).encode()).hexdigest())")
    outs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={"PYTHONHASHSEED": str(h), "PATH": ""}).stdout for h in (1, 2)}
    t = OfflineTeacher(seed=5)
    mine = hashlib.sha256("".join(t.write(s) for s in reversed(sample_prompts(300, seed=9))).encode()).hexdigest()
    assert outs == {mine + "\n"}

def test_instruct_round_trip(tmp_path):
    from tinystories_nb.data.stories import Story, read_instruct
    t = OfflineTeacher()
    specs = sample_prompts(300, seed=2)
    stories = [Story(t.write(s), id=s.id, words=s.word_list, features=s.features, summary=t.summarize(t.write(s), s),
                     source="offline", prompt=s.text) for s in specs]
    recs = [build_instruct(s, random.Random(i)) for i, s in enumerate(stories)]
    p = tmp_path/"instruct.txt"
    p.write_text("".join(format_instruct(r) for r in recs), encoding="utf-8")
    back = list(read_instruct(p))
    keys = ("text", "words", "features", "summary", "sentence")
    assert [[getattr(b, k) for k in keys] for b in back] == [[getattr(r, k) for k in keys] for r in recs]
    assert sum(r.summary is not None for r in recs) > 100 and sum(r.words is not None for r in recs) > 100

def test_a_users_own_vocabulary(tmp_path):
    "Words the teacher has never seen, with no tags: defaults (a thing, a plain verb, any adjective) still make valid stories."
    p = tmp_path/"mine.tsv"
    p.write_text("noun\tgizmo\nnoun\tkite\nverb\tfrobnicate\nverb\tzoom\nadjective\tblorpy\nadjective\tred\n")
    v = load_vocab(p)
    t = OfflineTeacher(vocab=v)
    specs = sample_prompts(200, vocab=v, seed=1)
    assert {s.vocab_sha for s in specs} == {v.sha}
    bad = [(s.words, r) for s in specs if (r := validate_story(t.write(s), s, vocab=v))]
    assert not bad, bad[:3]
