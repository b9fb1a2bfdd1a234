"""Completion generation for an eval set: batched KV-cache generation (what `tinystories eval` does) vs one prompt
at a time, side by side in one run.

    .venv/bin/python bench/bench_eval.py [--preset 3M] [--vocab 4096] [--beginnings 16] [--n 4] [--new-tokens 96]
                                         [--batch-size 32] [--naive-rows 4] [--device cpu] [--threads N]

The shipped story beginnings (`evalsets.load_beginnings()`, the first `--beginnings` of them) are completed `--n`
times each by a model of the named preset (random weights: speed does not depend on them) with a BPE trained on the
real TinyStories sample, at temperature 1 for exactly `--new-tokens` new tokens each (`stop_at_eot=False`, so every
method does the same work). Three ways:

- batched: `evaluate.complete(..., batch_size=B)`, the runner's path (KV cache, B rows per batch);
- one at a time: the same function with `batch_size=1` (KV cache, one row per call);
- naive: one row at a time without a KV cache, a full forward pass over the whole sequence for each new token (the
  loop one writes first); it is slow, so only `--naive-rows` rows are timed and the rate extrapolated.

Reported: completions per second and new tokens per second for each, and each rate as a ratio to the batched one.
The machine is shared: read the ratios, not the absolute numbers.
"""
import argparse, time
import torch


def naive_rows(model, enc: list[list[int]], new_tokens: int, seed: int = 0) -> list[list[int]]:
    "One row at a time, recomputing the full forward pass for every new token (no KV cache)."
    gen = torch.Generator().manual_seed(seed)
    out = []
    with torch.no_grad():
        for ids in enc:
            idx = torch.tensor([ids])
            for _ in range(new_tokens):
                logits, _ = model(idx)                                           # (1, T, vocab)
                nxt = torch.multinomial(logits[:, -1].softmax(-1), 1, generator=gen)
                idx = torch.cat([idx, nxt], dim=1)
            out.append(idx[0, len(ids):].tolist())
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--preset", default="3M")
    ap.add_argument("--vocab", type=int, default=4096)
    ap.add_argument("--beginnings", type=int, default=16)
    ap.add_argument("--n", type=int, default=4, help="completions per beginning")
    ap.add_argument("--new-tokens", type=int, default=96)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--naive-rows", type=int, default=4)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: the runner's choice)")
    args = ap.parse_args()

    from tinystories_nb.core import pick_device
    from tinystories_nb.synth.samples import find_sample, sample_path
    print(f"stories: {find_sample()}")   # real TinyStories when available, else the offline engine's
    from tinystories_nb.data.stories import EOT
    from tinystories_nb.eval.evalsets import load_beginnings
    from tinystories_nb.eval.completions import EvalPrompt, complete, cpu_threads_for, encode_prompts
    from tinystories_nb.model.gpt import GPT, preset
    from tinystories_nb.data.tokenize import train_tokenizer

    device = pick_device(args.device)
    stories = [s.strip() for s in sample_path().read_text(encoding="utf-8").split(EOT) if s.strip()]
    tok = train_tokenizer(stories, vocab_size=args.vocab)
    torch.manual_seed(0)
    model = GPT(preset(args.preset, vocab_size=args.vocab)).to(device).eval()
    if args.threads: torch.set_num_threads(args.threads)
    prompts = [EvalPrompt(b.id, "beginning", b.text) for b in load_beginnings().items[:args.beginnings]]
    enc = encode_prompts(tok, prompts, model.cfg.block_size)
    print(f"model {args.preset} ({model.num_params(False):,} parameters, vocab {args.vocab}) on {device}, torch threads "
          f"{torch.get_num_threads()}; {len(prompts)} beginnings x {args.n} completions x {args.new_tokens} new tokens "
          f"(prompts {min(map(len, enc))}-{max(map(len, enc))} tokens)")
    kw = dict(n=args.n, temperature=1.0, max_new_tokens=args.new_tokens, seed=0, stop_at_eot=False)   # exactly --new-tokens per row
    complete(model, tok, prompts[:2], n=2, temperature=1.0, max_new_tokens=8, batch_size=4)              # warm-up
    rows = len(prompts) * args.n
    results = []
    for name, bs in (("batched KV cache", args.batch_size), ("one at a time, KV cache", 1)):
        if device.startswith("cuda"): torch.cuda.synchronize()
        t0 = time.perf_counter(); outs = complete(model, tok, prompts, batch_size=bs, **kw)
        if device.startswith("cuda"): torch.cuda.synchronize()
        dt = time.perf_counter() - t0
        toks = sum(r["tokens"] for o in outs for r in o)
        results.append((name, rows, toks, dt))
    k = min(args.naive_rows, rows)
    with cpu_threads_for(model, 1):
        t0 = time.perf_counter(); out = naive_rows(model, enc[:k], args.new_tokens)
        dt = time.perf_counter() - t0
    results.append((f"one at a time, no cache ({k} rows timed)", k, sum(map(len, out)), dt))
    base = results[0][1] / results[0][3]
    print(f"{'method':42} {'completions':>11} {'seconds':>8} {'compl/s':>8} {'tokens/s':>9} {'vs batched':>10}")
    for name, n, toks, dt in results:
        print(f"{name:42} {n:11d} {dt:8.2f} {n / dt:8.2f} {toks / dt:9.0f} {n / dt / base:9.3f}x")
    b, one, naive = (r[1] / r[3] for r in results)
    print(f"batched is {b / one:.1f}x faster than one prompt at a time with the KV cache, {b / naive:.1f}x faster than without it")


if __name__ == "__main__":
    main()
