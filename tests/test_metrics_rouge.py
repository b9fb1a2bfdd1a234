"""Rouge numbers equal the `rouge-score` package's, and `RougeIndex` finds the same top matches as a brute-force
`rouge-score` scan (needs `pip install rouge-score`; skipped without it)."""
import random
import pytest
from tinystories_nb.synth.samples import sample_path
from tinystories_nb.data.stories import read_stories
from tinystories_nb.eval.metrics import RougeIndex, rouge_n, rouge_tokens, word_hashes

rouge_scorer = pytest.importorskip("rouge_score.rouge_scorer")
from rouge_score import tokenize as rs_tokenize

ODD = ["", "   ", "!!!", "Café crème — naïve Zoë", "Kelvin \u212a and \u0130stanbul", "3 cats, 42 dogs", "Tom's dog didn't",
       "ΑΒΓ abc", "a\u00a0b\tc\nd", "emoji 😀 ok", "MiXeD CaSe, mixed case", "x"]

@pytest.fixture(scope="module")
def stories(): return [s.text for s in read_stories(sample_path())]

def test_tokens_match_rouge_score(stories):
    for t in stories + ODD: assert rouge_tokens(t) == rs_tokenize.tokenize(t, None), t[:60]
    _, lens = word_hashes(stories + ODD)        # the index's vectorised hashing sees the same tokens
    assert lens.tolist() == [len(rouge_tokens(t)) for t in stories + ODD]

@pytest.mark.parametrize("n", [1, 2, 3])
def test_rouge_n_equals_rouge_score(stories, n):
    sc = rouge_scorer.RougeScorer([f"rouge{n}"])
    rng = random.Random(n)
    pairs = [(rng.choice(stories), rng.choice(stories)) for _ in range(150)]
    pairs += [(s[len(s) // 2:], s) for s in stories[:20]] + [(a, b) for a in ODD for b in ODD[:5]]
    for pred, ref in pairs:
        want = sc.score(ref, pred)[f"rouge{n}"]                  # rouge-score takes (target, prediction)
        got = rouge_n(pred, ref, n)
        assert (got.precision, got.recall, got.fmeasure) == (want.precision, want.recall, want.fmeasure)

def _brute(sc, name, query, texts, k):
    ps = [sc.score(t, query)[name].precision for t in texts]
    best = sorted(range(len(texts)), key=lambda i: (-ps[i], i))[:k]
    return [(i, ps[i]) for i in best if ps[i] > 0]

@pytest.mark.parametrize("n", [2, 3])
def test_index_top_matches_equal_brute_force(stories, n):
    train, held = stories[:800], stories[800:]
    idx = RougeIndex.build(train, n=n, chunk=300, buckets=8)
    sc = rouge_scorer.RougeScorer([f"rouge{n}"])
    rng = random.Random(n)
    queries = [h[len(h) // 3:] for h in held[:6]]                               # unseen stories
    queries += [train[i][len(train[i]) // 2:] for i in rng.sample(range(800), 2)]  # copies of a training story's end
    queries += [" ".join(rng.sample(rouge_tokens(held[7]), 40)), "The dog ran to the park and the cat sat on the mat."]
    for q in queries:
        got = [(m.idx, m.score) for m in idx.query(q, k=3)]
        assert got == _brute(sc, f"rouge{n}", q, train, 3), q[:60]
        if got: assert idx.query(q, k=3)[0].text == train[got[0][0]]   # (a shuffled query may share no n-gram)

def test_index_ties_go_to_the_lowest_index(stories):
    base = stories[:50]
    idx = RougeIndex.build(base * 3, chunk=40, buckets=4)                      # every story three times
    q = base[7][len(base[7]) // 2:]
    assert [m.idx for m in idx.query(q, k=3)] == [7, 57, 107]
    assert [m.idx for m in idx.query(q, k=2, exclude=[7])] == [57, 107]
    assert idx.query(q, k=1, exclude=[7, 57, 107])[0].idx not in (7, 57, 107)
    assert idx.query("zebra quantum", k=2) == [] and idx.query("", k=1) == []
