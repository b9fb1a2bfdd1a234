"""The shipped child vocabulary and features: content checks that read the data files directly."""
from pathlib import Path
import pytest
from tinystories_nb.core import TinyStoriesError, package_data
from tinystories_nb.synth.vocab import (IRREGULAR_PLURALS, IRREGULAR_VERBS, NOUN_CATEGORIES, article, load_features,
                                  load_vocab, parse_frame)

# irregular forms every child's story needs, written out by hand (base -> past, past participle / plural)
VERBS = {"run": ("ran", "run"), "swim": ("swam", "swum"), "eat": ("ate", "eaten"), "fly": ("flew", "flown"),
         "go": ("went", "gone"), "see": ("saw", "seen"), "sing": ("sang", "sung"), "sit": ("sat", "sat"),
         "catch": ("caught", "caught"), "bring": ("brought", "brought"), "buy": ("bought", "bought"),
         "think": ("thought", "thought"), "teach": ("taught", "taught"), "find": ("found", "found"),
         "hide": ("hid", "hidden"), "ride": ("rode", "ridden"), "drive": ("drove", "driven"), "write": ("wrote", "written"),
         "break": ("broke", "broken"), "take": ("took", "taken"), "give": ("gave", "given"), "fall": ("fell", "fallen"),
         "dig": ("dug", "dug"), "sleep": ("slept", "slept"), "keep": ("kept", "kept"), "sweep": ("swept", "swept"),
         "throw": ("threw", "thrown"), "blow": ("blew", "blown"), "grow": ("grew", "grown"), "draw": ("drew", "drawn"),
         "wear": ("wore", "worn"), "tear": ("tore", "torn"), "hold": ("held", "held"), "make": ("made", "made"),
         "tell": ("told", "told"), "say": ("said", "said"), "feed": ("fed", "fed"), "lead": ("led", "led"),
         "hit": ("hit", "hit"), "cut": ("cut", "cut"), "shut": ("shut", "shut"), "hurt": ("hurt", "hurt"),
         "read": ("read", "read"), "win": ("won", "won"), "lose": ("lost", "lost"), "spin": ("spun", "spun"),
         "swing": ("swung", "swung"), "sink": ("sank", "sunk"), "drink": ("drank", "drunk"), "bite": ("bit", "bitten"),
         "shake": ("shook", "shaken"), "wake": ("woke", "woken"), "freeze": ("froze", "frozen"), "steal": ("stole", "stolen"),
         "forget": ("forgot", "forgotten"), "begin": ("began", "begun"), "understand": ("understood", "understood")}
REGULAR = {"stop": ("stopped", "stopping", "stops"), "hop": ("hopped", "hopping", "hops"), "cry": ("cried", "crying", "cries"),
           "play": ("played", "playing", "plays"), "bake": ("baked", "baking", "bakes"), "tie": ("tied", "tying", "ties"),
           "wash": ("washed", "washing", "washes"), "buzz": ("buzzed", "buzzing", "buzzes"), "visit": ("visited", "visiting", "visits"),
           "moo": ("mooed", "mooing", "moos"), "ski": ("skied", "skiing", "skis"), "unwrap": ("unwrapped", "unwrapping", "unwraps")}
PLURALS = {"mouse": "mice", "foot": "feet", "tooth": "teeth", "child": "children", "man": "men", "woman": "women",
           "sheep": "sheep", "fish": "fish", "deer": "deer", "goose": "geese", "wolf": "wolves", "leaf": "leaves",
           "knife": "knives", "shelf": "shelves", "calf": "calves", "scarf": "scarves", "elf": "elves", "hero": "heroes",
           "potato": "potatoes", "tomato": "tomatoes", "piano": "pianos", "zoo": "zoos", "baby": "babies", "box": "boxes",
           "bus": "buses", "toy": "toys", "roof": "roofs", "snowman": "snowmen", "milk": "milk", "sky": "skies"}

@pytest.fixture(scope="module")
def vocab(): return load_vocab()

def test_size_and_balance(vocab):
    assert 1450 <= len(vocab) <= 1600
    for pos, n in vocab.counts().items(): assert abs(n / len(vocab) - 1 / 3) < 0.02, (pos, n)
    assert vocab.check() == []

def test_file_has_no_duplicates():
    rows = [l.split("\t")[:2] for l in package_data("vocab_en.tsv").read_text().splitlines() if l and not l.startswith("#")]
    bases = [b for _, b in rows]
    assert len(bases) == len(set(bases)), "a word appears twice (also across parts of speech)"

@pytest.mark.parametrize("base", sorted(VERBS))
def test_irregular_verbs(vocab, base):
    w = vocab.get(base, "verb")
    assert w is not None, f"{base} should be in the vocabulary"
    assert (w.past, w.past_participle) == VERBS[base]

@pytest.mark.parametrize("base", sorted(REGULAR))
def test_spelling_rules(vocab, base):
    w = vocab.get(base, "verb")
    if w is None: pytest.skip(f"{base} not in the vocabulary")
    assert (w.past, w.ing, w.third) == REGULAR[base]

@pytest.mark.parametrize("base", sorted(PLURALS))
def test_plurals(vocab, base):
    w = vocab.get(base, "noun")
    assert w is not None and w.plural == PLURALS[base]

def test_forms_are_well_formed(vocab):
    for w in vocab.verbs:
        assert w.ing.endswith("ing") and w.third.endswith("s"), w
        if w.base not in IRREGULAR_VERBS: assert w.past.endswith("ed") and w.past == w.past_participle, w
    for w in vocab.nouns:
        if w.mass: assert w.plural == w.base
        elif w.base not in IRREGULAR_PLURALS: assert w.plural.endswith("s"), w

def test_tags_and_frames(vocab):
    assert {w.category for w in vocab.nouns} == set(NOUN_CATEGORIES)
    for w in vocab.verbs: parse_frame(w.frame)
    assert all(w.domains for w in vocab.adjectives)

def test_articles():
    assert [article(w) for w in "apple egg ice owl umbrella unicorn uniform useful hour honest dog one".split()] == \
           ["an", "an", "an", "an", "an", "a", "a", "a", "an", "an", "a", "a"]

def test_features():
    assert [f.label for f in load_features()] == ["Dialogue", "BadEnding", "MoralValue", "Twist", "Foreshadowing", "Conflict"]

def test_user_file_errors_name_the_line(tmp_path):
    p = tmp_path/"v.tsv"
    p.write_text("noun\tcat\nverb\trun\tran\n")
    with pytest.raises(TinyStoriesError, match=r"v.tsv line 2: a verb line has 3 tab-separated columns"): load_vocab(p)
    p.write_text("noun\tcat\nnoun\tdog\nadjective\tred\tcolourful\n")
    with pytest.raises(TinyStoriesError, match=r"line 3: bad adjective tags 'colourful'"): load_vocab(p)
    p.write_bytes(b"noun\tcat\xff\n")
    with pytest.raises(TinyStoriesError, match="not UTF-8"): load_vocab(p)
