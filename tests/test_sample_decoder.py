"""The fast decode path (`tinystories_nb.model.sample.Decoder`) behind `generate_ids`: its weight-layout copies follow the
model (never stale), the size rule that decides them, bf16 autocast, and sampling statistics through the decoder."""
import torch
import tinystories_nb.model.sample as sample_mod
from tinystories_nb.model.gpt import GPT, GPTConfig, preset
from tinystories_nb.model.sample import Decoder, generate_ids


def _model(**kw):
    torch.manual_seed(0)
    m = GPT(preset("tiny", block_size=128, **kw)).eval()
    with torch.no_grad():
        for p in m.parameters(): p.normal_(0.0, 0.2)   # sharp logits: greedy choices are far from ties
    return m


def _greedy_via_forward(m, prompt, n):
    "Greedy continuation computed with full (uncached) forward passes, token by token."
    seq = list(prompt)
    with torch.no_grad():
        for _ in range(n): seq.append(int(m(torch.tensor([seq]))[0][0, -1].argmax()))
    return seq[len(prompt):]


def test_transposed_copies_follow_the_weights():
    m = _model()
    prompt = [5, 17, 300, 4]
    before = generate_ids(m, [prompt], max_new_tokens=40, temperature=0)[0]
    assert before == _greedy_via_forward(m, prompt, 40)
    with torch.no_grad():                                    # "train" the model in place, as an optimizer step does
        for p in m.parameters(): p.add_(torch.randn_like(p) * 0.2)
    after = generate_ids(m, [prompt], max_new_tokens=40, temperature=0)[0]
    assert after != before and after == _greedy_via_forward(m, prompt, 40)


def test_layout_rule(monkeypatch):
    m = _model()
    cache = m.new_cache(1, 64)
    dec = Decoder(m, cache)                                  # CPU, fp32, small, 64 steps left: copies
    assert dec.layout == ("split" if torch.get_num_threads() > 1 else "transposed") and dec.head.data_ptr() != m.lm_head.weight.data_ptr()
    assert Decoder(m, cache, layout="transposed").head.stride() == (1, m.cfg.vocab_size)
    assert Decoder(m, m.new_cache(1, 8)).head.data_ptr() == m.lm_head.weight.data_ptr()   # too few steps to pay
    monkeypatch.setattr(sample_mod, "TRANSPOSE_MAX_BYTES", 1000)
    assert Decoder(m, cache).head.data_ptr() == m.lm_head.weight.data_ptr()                 # too big to copy
    assert Decoder(m, cache, layout="transposed").head.data_ptr() != m.lm_head.weight.data_ptr()


def test_bf16_autocast_close_to_fp32():
    from tinystories_nb.core import autocast
    for m in (_model(), _model(family="modern")):
        idx = torch.randint(0, 512, (2, 30))
        with torch.inference_mode():
            ref = m(idx)[0][:, 20:]
            cache = m.new_cache(2, 30, dtype=torch.bfloat16)
            with autocast("cpu", "bf16"):
                m(idx[:, :20], cache=cache)
                dec = Decoder(m, cache)
                got = torch.stack([dec(idx[:, t]) for t in range(20, 30)], 1).float()
        err = (got - ref).abs().max() / ref.abs().max()
        assert err < 0.05, err
    assert generate_ids(m, [[1, 2, 3]], max_new_tokens=10, seed=1, dtype="bf16") == generate_ids(m, [[1, 2, 3]], max_new_tokens=10, seed=1, dtype="bf16")


def test_top_k_sampling_through_the_decoder():
    "Tokens sampled with top-k come from the k most likely continuations of the module path's logits."
    m = _model()
    prompt = [5, 17, 300, 4]
    rows = generate_ids(m, [prompt] * 64, max_new_tokens=1, temperature=1.0, top_k=3, seed=0)
    with torch.no_grad(): top3 = set(m(torch.tensor([prompt]))[0][0, -1].topk(3).indices.tolist())
    first = [r[0] for r in rows]
    assert set(first) <= top3 and len(set(first)) > 1
    # second tokens come through the decoder: each must be among the top 3 after its own first token
    rows = generate_ids(m, [prompt] * 16, max_new_tokens=2, temperature=1.0, top_k=3, seed=1)
    with torch.no_grad():
        for a, b in rows: assert b in m(torch.tensor([prompt + [a]]))[0][0, -1].topk(3).indices.tolist()
