"""Checks that only make sense on real TinyStories text (the published validation stories): they run where a real
sample is found (`TINYSTORIES_REAL_SAMPLE`, or `../shared/data/tinystories_valid_sample.txt` beside the checkout) and
are skipped with that reason elsewhere. The rest of the suite runs on the offline engine's stories, so a fresh clone
passes without any data."""
import json
import numpy as np
from tinystories_nb.data.clean import CleanReport, clean_stories, clean_text
from tinystories_nb.data.stories import read_stories, read_text
from tinystories_nb.eval.metrics import vocab_share
from tinystories_nb.data.tokenize import restrict_tokenizer, train_tokenizer

def test_layout_of_the_published_file(real_sample):
    stories = list(read_text(real_sample))
    assert len(stories) == 1000
    assert stories[0].text.startswith("Once upon a time") and stories[0].text.endswith("could climb anything.")

def test_cleaning_repairs_quotes_and_drops_nothing(real_sample):
    report = CleanReport()
    kept = list(clean_stories(read_stories(real_sample), report=report))
    assert (report.stories_in, report.stories_out) == (1000, 1000)
    assert report.changed["quotes"] > 0 and all(s.text.isascii() for s in kept)
    assert 0 < report.flagged["no_sentence_end"] < 20                # a few published stories end mid-sentence

def test_the_child_vocabulary_covers_real_stories(real_sample):
    shares = [vocab_share(s.text) for s in list(read_stories(real_sample))[:200]]
    assert np.mean(shares) > 0.9

def test_restricted_tokenizer_keeps_real_words_whole(real_sample):
    texts = [clean_text(s.text)[0] for s in read_stories(real_sample)]
    EOT = "<|endoftext|>"
    neo = train_tokenizer(texts[:500], vocab_size=1500)
    spec = json.loads(neo.to_str())                     # <|endoftext|> last, as in GPT-Neo's vocabulary
    v = spec["model"]["vocab"]; last = len(v) - 1
    spec["model"]["vocab"] = {t: (last if t == EOT else i - 1) for t, i in v.items()}; spec["added_tokens"][0]["id"] = last
    from tokenizers import Tokenizer
    neo = Tokenizer.from_str(json.dumps(spec))
    small, new_to_old = restrict_tokenizer(neo, texts[500:], 600)
    kept, same = set(new_to_old), 0
    for w in {w for t in texts[:100] for w, _ in neo.pre_tokenizer.pre_tokenize_str(t)}:
        old = neo.encode(w).ids
        if set(old) <= kept: assert [new_to_old[i] for i in small.encode(w).ids] == old, w; same += 1
    assert same > 500                                   # most words of real stories survive whole
