"""The offline teacher on every vocabulary word, its determinism across processes, and Instruct round trips."""
import hashlib, random, subprocess, sys
import pytest
from tinystories_nb.synth.prompts import PromptSpec, build_instruct, format_instruct, sample_prompts
from tinystories_nb.synth.engine import FEATURE_BEATS, OfflineTeacher
from tinystories_nb.synth.teachers import validate_story
from tinystories_nb.synth.vocab import load_vocab
from tinystories_nb.data.text import words

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
    """Valid for every word; `max_words` (250) is where colour and struggles are trimmed to, so only a story whose requested
    features need more runs longer (real TinyStories: 3.7% of stories over 250 words)."""
    t = OfflineTeacher(seed=3)
    bad, long = [], 0
    for s in _specs_for_every_word():
        text = t.write(s)
        long += len(words(text)) > 250
        if r := validate_story(text, s, min_words=100, max_words=300): bad.append((s.words, s.features, r))
        if "{" in text or "}" in text or "  " in text: bad.append((s.words, "template left-overs", text))
        summary = t.summarize(text, s)
        if not summary.endswith(".") or "{" in summary: bad.append((s.words, "summary", summary))
    assert not bad, bad[:5]
    assert long <= 0.01 * 3 * max(len(load_vocab().nouns), len(load_vocab().verbs)), long

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


# --- the engine's data files and its guarantees (issue 15) -------------------------------------------------------

import collections, json
from tinystories_nb.core import TinyStoriesError
from tinystories_nb.data.text import corpus_stats, sentences
from tinystories_nb.synth.engine import load_story_data
from tinystories_nb.synth.teachers import feature_report


@pytest.mark.parametrize("seed", [0, 7])
def test_every_requested_feature_is_realised(seed):
    "Per feature, >= 95% of the stories that ask for it show it to the package's one validator; words always present."
    t, specs = OfflineTeacher(seed=seed), sample_prompts(800, seed=seed)
    texts = [t.write(s) for s in specs]
    assert not [s.id for s, x in zip(specs, texts) if validate_story(x, s)]
    rep = feature_report(list(zip(texts, [s.features for s in specs])))
    assert all(r["asked"] > 50 and r["realised"] >= 0.95 for r in rep.values()), rep


def test_variety_guarantees():
    "Issue 15's variety goals on 1,000 stories of another seed; no stock sentence closes many stories; every plot gets written."
    t, specs = OfflineTeacher(seed=2), sample_prompts(1000, seed=2)
    texts = [t.write(s) for s in specs]
    last = collections.Counter(sentences(x)[-1] for x in texts)
    assert last.most_common(1)[0][1] <= 0.03 * len(texts), last.most_common(3)
    st = corpus_stats(texts)
    assert st["repeated_sentences"] <= 0.08 and st["distinct_3"] >= 0.50 and st["words_used"] >= 3000, st
    assert {t.plan(s).plot for s in specs} == set(t.data.plots)


def _write(p, d): p.write_text(json.dumps(d), encoding="utf-8"); return p


def test_users_plots_and_phrases_override_the_shipped_ones(tmp_path):
    base = load_story_data()
    lost = {**base.plots["lost"].record, "version": 2, "good": [["In the end, {H} found {theI} in {~odd_place}."]]}
    plots = _write(tmp_path/"plots.json", {"format": "tinystories_nb.plots/1", "plots": [lost]})
    phrases = _write(tmp_path/"phrases.json", {"format": "tinystories_nb.phrases/1", "rules": {"odd_place": ["the teapot"],
                                                                                              "end.happy": ["{H} laughed all evening."]}})
    t = OfflineTeacher(plots=plots, phrases=phrases)
    assert t.data.plots["lost"].version == 2 and len(t.data.plots) == len(base.plots)
    specs = [s for s in sample_prompts(400, seed=4) if t.plan(s).plot == "lost" and not set(s.features) & {"BadEnding", "Twist"}]
    assert specs and all("found the " in t.write(s) and "in the teapot" in t.write(s) for s in specs)
    assert all("laughed all evening" in t.write(s) for s in specs if "BadEnding" not in s.features)
    assert load_story_data() is base and base.plots["lost"].version == 1          # the shipped data is untouched
    assert "in the teapot" not in OfflineTeacher(seed=0).write(specs[0])
    assert load_story_data(plots=plots, phrases=phrases, include_default=False).plots.keys() == {"lost"}


def test_a_users_file_is_read_again_after_an_edit(tmp_path):
    "Only the shipped data is cached: a notebook user who edits a phrases file sees the edit."
    p = _write(tmp_path/"phrases.json", {"format": "tinystories_nb.phrases/1", "rules": {"later": ["Soon after,"]}})
    assert load_story_data(phrases=p).rules["later"][0][1] == "Soon after,"
    _write(p, {"format": "tinystories_nb.phrases/1", "rules": {"later": ["Much later,"]}})
    assert load_story_data(phrases=p).rules["later"][0][1] == "Much later,"


@pytest.mark.parametrize("change, message", [
    ({"setup": ["{H} found {theX}."]}, "unknown slot {theX}"),
    ({"setup": ["{~nope}"]}, "no phrase rule 'nope'"),
    ({"good": [{"if": "__import__('os').system('true')", "say": "x"}]}, "unknown condition"),
    ({"good": [{"if": "item in no_such_set", "say": "x"}]}, "no word set 'no_such_set'"),
    ({"nouns": [{"cat": ["toys"], "weight": 1}]}, "no noun category 'toys'"),
    ({"setup": [["{@a:spaceship}"]]}, "names no noun category 'spaceship'"),
    ({"version": "two"}, "'version' (integer)"),
    ({"stock": []}, "'stock' must list noun categories"),
    ({"sparkle": 1}, "unknown field(s) sparkle"),
])
def test_a_bad_plot_says_what_is_wrong(tmp_path, change, message):
    rec = {**load_story_data().plots["want"].record, "version": 9, **change}
    p = _write(tmp_path/"plots.json", {"format": "tinystories_nb.plots/1", "plots": [rec]})
    with pytest.raises(TinyStoriesError, match=None) as e: OfflineTeacher(plots=p)
    assert message in str(e.value), str(e.value)


def test_bad_data_files(tmp_path):
    (tmp_path/"broken.json").write_text('{"format": "tinystories_nb.plots/1", "plots": [', encoding="utf-8")
    (tmp_path/"latin1.json").write_bytes('{"format": "tinystories_nb.phrases/1", "rules": {"x": ["café"]}}'.encode("latin-1"))
    _write(tmp_path/"wrong.json", {"format": "tinystories_nb.templates/1", "templates": []})
    _write(tmp_path/"same.json", {"format": "tinystories_nb.plots/1", "plots": [{**load_story_data().plots["want"].record, "doc": "changed"}]})
    cases = [(dict(plots=tmp_path/"broken.json"), "not valid JSON"), (dict(phrases=tmp_path/"latin1.json"), "not UTF-8"),
             (dict(plots=tmp_path/"wrong.json"), '"format": "tinystories_nb.plots/1"'), (dict(plots=tmp_path/"missing.json"), "plots file"),
             (dict(plots=tmp_path/"same.json"), "defined twice with different texts"),
             (dict(lexicon=_write(tmp_path/"lex.json", {"format": "tinystories_nb.lexicon/1", "settings": {"moon": "under"}})), "preposition")]
    for kw, msg in cases:
        with pytest.raises(TinyStoriesError) as e: OfflineTeacher(**kw)
        assert msg in str(e.value), (kw, str(e.value))


def test_a_foreshadowing_device_keeps_its_variant_from_setup_to_payoff(tmp_path):
    "A device lists variants; a story uses one variant's setup and the same variant's payoff."
    colours = ("red", "blue")
    dev = [{"setup": [f"{{H}} saw a {c} string on the gate, but did not see where it went."],
            "happy": [f"At last, the {c} string led {{H}} home."], "bad": [f"The {c} string snapped, and {{H}} was sad."]} for c in colours]
    p = _write(tmp_path/"phrases.json", {"format": "tinystories_nb.phrases/1", "foreshadow": {"string": dev}})
    t = OfflineTeacher(phrases=p)
    texts = [t.write(s) for s in sample_prompts(3000, seed=5) if "Foreshadowing" in s.features]
    used = {c: [x for x in texts if f"a {c} string on the gate" in x] for c in colours}
    assert all(used.values()), {c: len(v) for c, v in used.items()}                   # both variants get written
    for c, other in (colours, colours[::-1]):
        assert all(f"the {c} string" in x.lower() and f"the {other} string" not in x.lower() for x in used[c])
    bad = _write(tmp_path/"bad.json", {"format": "tinystories_nb.phrases/1", "foreshadow": {"string": [dev[0], {"setup": ["x"]}]}})
    with pytest.raises(TinyStoriesError, match="'happy' and a 'bad' payoff in every variant"): OfflineTeacher(phrases=bad)
    odd = _write(tmp_path/"odd.json", {"format": "tinystories_nb.phrases/1", "style": {"pronoun": 2}})
    with pytest.raises(TinyStoriesError, match="chances between 0 and 1"): OfflineTeacher(phrases=odd)
