"""Neuron scans stream: stories are pulled from the iterator one batch at a time, the result's size does not depend
on the stream's length, `Story` records and a streaming reader work as input, and bad input gives one-line errors."""
import itertools
import numpy as np
import pytest
import torch
from tinystories_nb.core import TinyStoriesError, set_seed
from tinystories_nb.synth.samples import sample_path, sample_stories
from tinystories_nb.data.stories import read_stories
from tinystories_nb.model.gpt import GPT, preset
from tinystories_nb.data.tokenize import train_tokenizer
from tinystories_nb.studies.neurons import name_mentions, rank_neurons, stream_activations, top_contexts

@pytest.fixture(scope="module")
def setup():
    torch.set_num_threads(1)
    texts = [s.text for s in sample_stories()]
    tok = train_tokenizer(texts[:200], vocab_size=512)
    set_seed(0)
    return GPT(preset("tiny", vocab_size=512)).eval(), tok, texts

def test_pulls_one_batch_at_a_time(setup):
    model, tok, texts = setup
    pulled = []
    def gen():
        for i, t in enumerate(itertools.cycle(texts)):
            pulled.append(i); yield t
    it = stream_activations(model, tok, gen(), layer=0, batch_size=8)
    for n in range(1, 4):
        rows, pieces, idx, valid, acts = next(it)
        assert len(pulled) == 8 * n and rows == list(range(8 * (n - 1), 8 * n))
        assert acts.shape[:2] == idx.shape == valid.shape and acts.shape[2] == model.cfg.hidden
        assert [len(p) for p in pieces] == valid.sum(1).tolist()

def test_result_size_does_not_grow(setup):
    model, tok, texts = setup
    small = top_contexts(model, tok, texts[:10], layer=1, k=4, window=2)
    big = top_contexts(model, tok, (t for t in texts[:400]), layer=1, k=4, window=2, batch_size=32)
    assert (small.n_stories, big.n_stories) == (10, 400)
    for name in ("values", "story", "pos", "ctx_ids", "ctx_acts", "mean"):
        assert getattr(small, name).shape == getattr(big, name).shape
    assert (big.values >= small.values - 1e-6).all()                   # more stories can only raise the top k
    assert big.story.max() < 400 and np.isfinite(big.values).all()

def test_story_records_from_a_reader(setup):
    model, tok, texts = setup
    stream = itertools.islice(read_stories(sample_path()), 30)
    tc = top_contexts(model, tok, stream, layer=0, k=3)
    assert tc.n_stories == 30
    ranked = rank_neurons(model, tok, itertools.islice(read_stories(sample_path()), 30), layer=0)
    assert ranked.attrs["n_stories"] == 30 and ranked.attrs["n_positive"] > 0

def test_empty_stories_are_counted_and_skipped(setup):
    model, tok, texts = setup
    tc = top_contexts(model, tok, ["", texts[0], "", texts[1]], layer=0, k=2)
    assert tc.n_stories == 4 and set(tc.story.ravel().tolist()) <= {1, 3}

def test_stories_longer_than_context_are_cut(setup):
    model, tok, texts = setup
    tc = top_contexts(model, tok, [" ".join(texts[:5])], layer=0, k=2)
    assert tc.n_tokens == model.cfg.block_size and tc.pos.max() < model.cfg.block_size
    assert top_contexts(model, tok, [texts[0]], layer=0, k=2, max_tokens=10).n_tokens == 10

def test_bad_input(setup):
    model, tok, texts = setup
    with pytest.raises(TinyStoriesError, match="story 1 of the stream is a dict"):
        top_contexts(model, tok, [texts[0], {"story": "x"}], layer=0)
    with pytest.raises(TinyStoriesError, match="k must be at least 1"):
        top_contexts(model, tok, texts[:2], layer=0, k=0)
    with pytest.raises(TinyStoriesError, match="batch_size must be at least 1"):
        top_contexts(model, tok, texts[:2], layer=0, batch_size=0)
    with pytest.raises(TinyStoriesError, match="labeler gave .* labels for the .* tokens of story 0"):
        rank_neurons(model, tok, texts[:2], layer=0, labeler=lambda pieces: np.zeros(3))
    with pytest.raises(TinyStoriesError, match="every token has label 1"):
        rank_neurons(model, tok, texts[:2], layer=0, labeler=lambda pieces: np.ones(len(pieces)))
    with pytest.raises(TinyStoriesError, match="layer 5 does not exist"):
        rank_neurons(model, tok, texts[:2], layer=5)

def test_name_mentions_possessive_and_sentence_start():
    pieces = list("Lily's dog ran. Lily smiled. Then Tom came, and Lily and Tom played.")    # one piece per character
    lab = name_mentions(pieces)
    text = "".join(pieces)
    first = "".join(c for c, l in zip(text, lab) if l == 1)
    later = "".join(c for c, l in zip(text, lab) if l == 2)
    assert first == "LilyTom" and later == "LilyLilyTom"
