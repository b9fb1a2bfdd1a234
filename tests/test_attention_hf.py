"""Attention capture and neuron hooks on models loaded directly with `transformers` (no download: tiny random models
built here), including a Llama-style model, and the restore of the model's attention implementation and mode."""
import numpy as np
import pytest
import torch
transformers = pytest.importorskip("transformers")
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast
from tinystories_nb.core import TinyStoriesError
from tinystories_nb.synth.samples import sample_stories
from tinystories_nb.data.tokenize import train_tokenizer
from tinystories_nb.studies.attention import attention_weights, capture_attention, head_scores
from tinystories_nb.studies.neurons import mlp_projections, neuron_activations, record_neurons, top_contexts

@pytest.fixture(scope="module")
def llama():
    torch.manual_seed(0)
    texts = [s.text for s in sample_stories(60)]
    tok = PreTrainedTokenizerFast(tokenizer_object=train_tokenizer(texts, vocab_size=300))
    cfg = LlamaConfig(vocab_size=300, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                      num_key_value_heads=2, max_position_embeddings=96)
    return LlamaForCausalLM(cfg), tok, texts

def test_llama_attention(llama):
    model, tok, texts = llama
    model.train()
    impl = model.config._attn_implementation
    att = capture_attention(model, tok, texts[0])
    assert att.weights.shape == (2, 4, 96, 96) and att.windows == [None, None]
    np.testing.assert_allclose(att.weights.sum(-1), 1, atol=1e-5)
    assert np.abs(np.triu(att.weights[0, 0], 1)).max() == 0
    assert model.config._attn_implementation == impl and model.training
    idx = torch.tensor([att.ids])
    with torch.no_grad(): want = model.eval()(idx).logits
    torch.testing.assert_close(attention_weights(model, idx)[0], want, atol=1e-5, rtol=1e-5)
    scores = head_scores([capture_attention(model, tok, t) for t in texts[:3]])
    assert len(scores) == 8 and set(scores.label) <= {"distance", "semantic", "mixed"}

def test_llama_neurons(llama):
    model, tok, texts = llama
    idx = torch.tensor([tok(texts[0])["input_ids"][:40]])
    mlp = model.model.layers[1].mlp
    seen = {}
    h = mlp.register_forward_hook(lambda m, a, out: seen.update(x=a[0], y=out))
    with record_neurons(model, [1]) as rec, torch.no_grad(): model.eval()(input_ids=idx)   # a full pass, hooked
    h.remove()
    acts = neuron_activations(model, idx, 1)                                                # stops after layer 1's MLP
    assert acts.shape == (1, 40, 64)
    torch.testing.assert_close(acts, rec[1])
    torch.testing.assert_close(acts, torch.nn.functional.silu(mlp.gate_proj(seen["x"])) * mlp.up_proj(seen["x"]))
    torch.testing.assert_close(mlp.down_proj(acts), seen["y"])
    assert mlp_projections(model)[1] is mlp.down_proj
    tc = top_contexts(model, tok, texts[:20], layer=1, k=3)
    assert tc.values.shape == (64, 3) and tc.n_stories == 20

def test_model_without_weights_is_a_clear_error(llama):
    model, tok, texts = llama
    class NoAttn(torch.nn.Module):
        def __init__(self):
            super().__init__(); self.w = torch.nn.Linear(2, 2)
        def forward(self, input_ids, output_attentions=False):
            class Out: logits, attentions = torch.zeros(1, input_ids.shape[1], 2), ()
            return Out()
    with pytest.raises(TinyStoriesError, match="NoAttn returned no attention weights"):
        capture_attention(NoAttn(), tok, "Once upon a time")
