"""Streamed text of a byte-level BPE never shows U+FFFD for a character a later token completes, a character cut off at
the end of generation is dropped, and the pieces add up to the returned text (`tinystories_nb.model.sample`)."""
import contextlib, io, json, random
import pytest
import torch
from tinystories_nb.model.gpt import GPT, preset
from tinystories_nb.model.sample import EOT, _Streamer, decode_complete, generate
from tinystories_nb.data.tokenize import train_tokenizer

TEXTS = ["Lily went to the café and said “hello” 🙂 to Tom.", "“Yes,” said Mom. The café had a dog 🐶 and a cake 🎂.",
         "Zoë’s naïve friend ate crème brûlée — “yum!” 🍰🙂"] * 10


@pytest.fixture(scope="module")
def tok():
    return train_tokenizer(TEXTS, vocab_size=300)


def stream(tok, ids):
    "Feed `ids` one at a time; return the pieces and the text shown after each token."
    got, shown = [], []
    s = _Streamer(tok, lambda i, j, p: got.append(p), [(0, 0)])
    for i in ids:
        s(0, i); shown.append("".join(got))
    return got, shown


def test_text_round_trips_without_replacement_characters(tok):
    for text in TEXTS[:3] + ["At the café, Mom said “look!” 🙂🐶 and Tom said “wow” 🎂 é"]:
        ids = tok.encode(text).ids
        assert any("\ufffd" in tok.decode([i]) for i in ids)              # the text really has split characters
        got, _ = stream(tok, ids)
        assert "".join(got) == text
        assert not any("\ufffd" in p for p in got), got


def test_cut_off_character_is_dropped(tok):
    for text in ("Mom said 🙂", "a “", "café"):
        ids = tok.encode(text).ids
        for k in range(1, len(ids) + 1):
            got, _ = stream(tok, ids[:k])
            assert "".join(got) == decode_complete(tok, ids[:k]) and not "".join(got).endswith("\ufffd")
            assert text.startswith("".join(got))


def test_random_ids_never_show_a_character_that_is_completed_later(tok):
    "Random token sequences (invalid UTF-8 included): what is shown is always a prefix of the final decoding."
    rng = random.Random(0)
    V = tok.get_vocab_size()
    for _ in range(300):
        ids = [rng.randrange(1, V) for _ in range(rng.randrange(1, 25))]
        got, shown = stream(tok, ids)
        full = tok.decode(ids)
        assert "".join(got) == decode_complete(tok, ids)
        for k, text in enumerate(shown):
            assert full.startswith(text), (ids[:k + 1], text, full)   # no "\ufffd" where a later byte makes a character


def test_generate_stream_matches_returned_text(tok):
    "Through `generate` with a random model: pieces add up to the completion, which never ends in U+FFFD."
    torch.manual_seed(0)
    model = GPT(preset("tiny", vocab_size=tok.get_vocab_size()))
    pieces = {}
    outs = generate(model, tok, ["Mom said 🙂", "café"], n=3, temperature=1.5, seed=0,
                    on_text=lambda i, j, p: pieces.setdefault((i, j), []).append(p))
    for i in range(2):
        for j in range(3):
            assert "".join(pieces.get((i, j), [])) == outs[i][j]
            assert not outs[i][j].endswith("\ufffd")


def test_cli_stream_prints_the_returned_text(tok, tmp_path):
    from tinystories_nb.model.checkpoint import save_checkpoint
    from tinystories_nb.app.cli import main
    torch.manual_seed(0)
    model = GPT(preset("tiny", vocab_size=tok.get_vocab_size()))
    save_checkpoint(tmp_path/"run"/"ckpt", 1, model, tokenizer=tok)
    for seed in range(5):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            assert main(["sample", "--ckpt", str(tmp_path/"run"), "--prompt", "Mom said 🙂", "--seed", str(seed), "--temperature", "1.5"]) == 0
        ref = generate(model, tok, "Mom said 🙂", seed=seed, temperature=1.5)[0][0]
        assert out.getvalue() == "Mom said 🙂" + ref + "\n"
