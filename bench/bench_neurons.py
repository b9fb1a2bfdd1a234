"""Scanning MLP neurons for their top-activating contexts: `neurons.top_contexts` against what a user would otherwise
write, in two parts, all in one process on the same model and stories.

Model: a random GPT-Neo of the paper's 64-wide shape (`preset("1M")`: 8 layers x 64, 256 neurons per MLP), vocab
512; layer --layer (default 1) is scanned. Input: the first --stories stories of the shared TinyStories sample (cut
to 512 tokens), a 512-token BPE trained on 200 of them, batches of 16 stories.

1. The forward passes. `neuron_activations` stops the pass once the scanned layer is recorded; the alternative is a
   plain forward hook on the MLP and a full pass (all layers and the logits).
2. The bookkeeping, on the activations computed once above: for every neuron, its top k = 10 activations with the
   8 tokens either side.
     RunningTopK  the package: each batch's per-neuron top k merged with the running top k in one tensor operation
                  (memory: the result, n_neurons x k x 17)
     keep-all     every activation and token kept, one topk at the end (memory grows with the corpus)
     heapq        one Python heap of size k per neuron, fed token by token (bounded memory, Python loops);
                  run on the first --heap-stories stories only, reported per token
   The three results are checked to agree.

Figures: tokens per second of wall time, memory held for the bookkeeping, ratios against the package's way. Wall
times move with the load of a shared machine: compare the ratios of one run.
Usage: python bench/bench_neurons.py [--stories 500] [--heap-stories 50] [--layer 1] [--threads 1]
"""
import argparse, heapq, time
import numpy as np
import torch

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stories", type=int, default=500)
    ap.add_argument("--heap-stories", type=int, default=50)
    ap.add_argument("--layer", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    from tinystories_nb.core import set_seed
    from tinystories_nb.synth.samples import find_sample, sample_stories
    print(f"stories: {find_sample()}")   # real TinyStories when available, else the offline engine's
    from tinystories_nb.model.gpt import GPT, preset
    from tinystories_nb.data.tokenize import train_tokenizer
    from tinystories_nb.studies.neurons import RunningTopK, record_neurons, stream_activations
    texts = [s.text for s in sample_stories(args.stories)]
    tok = train_tokenizer(texts[:200], vocab_size=512)
    set_seed(0)
    model = GPT(preset("1M", vocab_size=512)).eval()
    layer, k, w = args.layer, 10, 8
    n = model.cfg.hidden

    # 1. forward passes
    t0 = time.perf_counter()
    batches = list(stream_activations(model, tok, texts, layer))
    t_early = time.perf_counter() - t0
    N = sum(int(v.sum()) for _, _, _, v, _ in batches)
    t0 = time.perf_counter()
    with record_neurons(model, [layer]) as rec, torch.no_grad():
        for _, _, idx, valid, acts in batches:
            model(idx)
            assert torch.equal(rec[layer], acts)
    t_full = time.perf_counter() - t0

    # 2. bookkeeping
    t0 = time.perf_counter()
    keeper = RunningTopK(k, w)
    for rows, _, idx, valid, acts in batches: keeper.add(rows, idx, valid, acts)
    tc = keeper.result(layer, len(texts))
    t_pkg = time.perf_counter() - t0
    mem_pkg = sum(a.nbytes for a in (tc.values, tc.story, tc.pos, tc.ctx_ids, tc.ctx_acts, tc.mean))

    t0 = time.perf_counter()
    all_acts = torch.cat([acts[valid] for _, _, _, valid, acts in batches])    # (N, n)
    all_ids = torch.cat([idx[valid] for _, _, idx, valid, _ in batches])      # (N,)
    vals, where = all_acts.topk(k, dim=0)                                      # (k, n)
    ctx = all_ids[(where[..., None] + torch.arange(-w, w + 1)).clamp(0, N - 1)]   # contexts (story boundaries aside)
    t_all = time.perf_counter() - t0
    mem_all = sum(t.numel() * t.element_size() for t in (all_acts, all_ids, ctx))

    heap_batches = batches[:max(1, args.heap_stories // 16)]
    t0 = time.perf_counter()
    heaps, n_heap = [[] for _ in range(n)], 0
    for rows, _, idx, valid, acts in heap_batches:
        for b, row in enumerate(rows):
            for t, a in enumerate(acts[b, :int(valid[b].sum())].tolist()):
                for j, v in enumerate(a):
                    if len(heaps[j]) < k: heapq.heappush(heaps[j], (v, row, t))
                    elif v > heaps[j][0][0]: heapq.heapreplace(heaps[j], (v, row, t))
                n_heap += 1
    heap_best = np.array([[e[0] for e in sorted(h, reverse=True)] for h in heaps])
    t_heap = time.perf_counter() - t0
    mem_heap = n * k * 3 * 8

    np.testing.assert_allclose(tc.values, vals.T.numpy(), rtol=1e-6, atol=1e-6)
    small = RunningTopK(k, w)
    for rows, _, idx, valid, acts in heap_batches: small.add(rows, idx, valid, acts)
    np.testing.assert_allclose(small.top["values"].numpy(), heap_best, rtol=1e-6, atol=1e-6)

    print(f"{len(texts)} stories, {N:,} tokens; layer {layer} of preset 1M (8 layers, {n} neurons); k={k}, window={w}; "
          f"{torch.get_num_threads()} thread(s)")
    print(f"\n1. forward passes{'tokens/s':>24}{'ratio':>10}")
    print(f"   {'full pass + hook':<26}{N / t_full:>11,.0f}{1.0:>9.2f}x")
    print(f"   {'neuron_activations (stop)':<26}{N / t_early:>11,.0f}{t_full / t_early:>9.2f}x   (includes tokenising)")
    print(f"\n2. bookkeeping{'tokens/s':>27}{'vs RunningTopK':>16}{'memory':>12}{'vs RunningTopK':>16}")
    for name, tps, mem in [("RunningTopK", N / t_pkg, mem_pkg), ("keep-all", N / t_all, mem_all),
                           (f"heapq ({n_heap:,} tokens)", n_heap / t_heap, mem_heap)]:
        print(f"   {name:<26}{tps:>11,.0f}{tps / (N / t_pkg):>15.3f}x{mem / 2**20:>10.2f}MB{mem / mem_pkg:>15.2f}x")
    print(f"\nkeep-all holds {all_acts.element_size() * n / 1024:.1f} KB per token: the 470M-token train split would need "
          f"{470e6 * all_acts.element_size() * n / 2**30:,.0f} GB for one layer of this 64-wide model")

if __name__ == "__main__":
    main()
