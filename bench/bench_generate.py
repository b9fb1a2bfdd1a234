"""Generation throughput: tinystories_nb's KV-cache sampler vs Hugging Face `generate()`, same weights, side by side.

    .venv/bin/python bench/bench_generate.py [--preset 8M] [--vocab 8192] [--new-tokens 256] [--batches 1 16] [--rounds 2] [--threads N]

An `8M`-shaped `neo` model (random weights; speed does not depend on them) is exported once with
`tinystories_nb.hf.export_hf`; each measurement then runs in a fresh process that loads that directory, either with
`tinystories_nb.hf.import_hf` + `tinystories_nb.sample.generate_ids` ("ours") or with
`GPTNeoForCausalLM.from_pretrained` + `.generate()` ("hf"). Both sample with top-k 50 at temperature 1, from the same
left-padded prompts (openings of real TinyStories validation stories), for exactly `--new-tokens` new tokens per
row (no early stop), after a short warm-up. Reported: new tokens per second (best of `--repeats` runs, then the
median over `--rounds` rounds that alternate the order), and memory: the process's peak RSS while generating, and
the part of it added by generating (peak minus the RSS just before). On a shared machine the absolute numbers are
noisy; the ratio is what to read.
"""
import argparse, json, os, statistics, subprocess, sys, tempfile, threading, time
from pathlib import Path


def rss_mb() -> float:
    with open("/proc/self/statm") as f: return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


class PeakRSS:
    "Poll this process's RSS every few ms in a thread; `.peak` is the highest value seen."
    def __init__(self, every: float = 0.005): self.every, self.peak, self._stop = every, rss_mb(), threading.Event()
    def __enter__(self):
        self._t = threading.Thread(target=self._run, daemon=True); self._t.start(); return self
    def _run(self):
        while not self._stop.is_set(): self.peak = max(self.peak, rss_mb()); time.sleep(self.every)
    def __exit__(self, *a): self._stop.set(); self._t.join(); self.peak = max(self.peak, rss_mb())


def worker(impl: str, model_dir: str, prompts_file: str, batch: int, new_tokens: int, top_k: int, repeats: int, threads: int) -> dict:
    import torch
    if threads: torch.set_num_threads(threads)
    prompts = json.loads(Path(prompts_file).read_text())[:batch]
    if impl == "ours":
        from tinystories_nb.hf import import_hf
        from tinystories_nb.sample import generate_ids
        model, _ = import_hf(model_dir, tokenizer=False)
        def run(n, seed): return generate_ids(model, prompts, max_new_tokens=n, temperature=1.0, top_k=top_k, seed=seed)
    else:
        import transformers
        from transformers import GPTNeoForCausalLM
        transformers.logging.set_verbosity_error()
        model = GPTNeoForCausalLM.from_pretrained(model_dir).eval()
        model.generation_config.eos_token_id = None              # never stop early: exactly n new tokens per row
        T = max(map(len, prompts))
        ids = torch.tensor([[0] * (T - len(p)) + p for p in prompts])
        mask = torch.tensor([[0] * (T - len(p)) + [1] * len(p) for p in prompts])
        def run(n, seed):
            torch.manual_seed(seed)
            with torch.no_grad():
                out = model.generate(input_ids=ids, attention_mask=mask, do_sample=True, top_k=top_k, temperature=1.0,
                                     top_p=1.0, max_new_tokens=n, pad_token_id=0)
            return out[:, T:].tolist()
    run(16, 0)                                                   # warm-up (allocator, kernels, lazy init)
    before, times = rss_mb(), []
    with PeakRSS() as mem:
        for r in range(repeats):
            t0 = time.perf_counter(); rows = run(new_tokens, r + 1); times.append(time.perf_counter() - t0)
            assert all(len(row) == new_tokens for row in rows), "a row stopped early"
    return dict(impl=impl, batch=batch, tokens_per_s=batch * new_tokens / min(times), peak_mb=mem.peak, extra_mb=mem.peak - before)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="8M"); ap.add_argument("--vocab", type=int, default=8192)
    ap.add_argument("--new-tokens", type=int, default=256); ap.add_argument("--top-k", type=int, default=50)
    ap.add_argument("--batches", type=int, nargs="+", default=[1, 16])
    ap.add_argument("--rounds", type=int, default=2); ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--threads", type=int, default=0, help="torch threads in each worker (0 = torch's default)")
    ap.add_argument("--worker", nargs=3, metavar=("IMPL", "MODEL_DIR", "PROMPTS"), help=argparse.SUPPRESS)
    ap.add_argument("--batch", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(worker(*args.worker, args.batch, args.new_tokens, args.top_k, args.repeats, args.threads))); return

    import torch
    from tokenizers import Tokenizer, models, trainers, pre_tokenizers, decoders
    from tinystories_nb.core import sample_path
    from tinystories_nb.hf import export_hf
    from tinystories_nb.model import GPT, preset
    EOT = "<|endoftext|>"
    stories = [s.strip() for s in sample_path().read_text(encoding="utf-8").split(EOT) if s.strip()]
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer, tok.decoder = pre_tokenizers.ByteLevel(add_prefix_space=False), decoders.ByteLevel()
    tok.train_from_iterator(stories, trainers.BpeTrainer(vocab_size=args.vocab, special_tokens=[EOT],
                                                         initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False))
    # prompts: the opening 4..30 tokens of different stories, preceded by EOT as the sampler does
    prompts = [[0] + tok.encode(s).ids[:4 + (7 * i) % 27] for i, s in enumerate(stories[:max(args.batches)])]
    torch.manual_seed(0)
    cfg = preset(args.preset, vocab_size=tok.get_vocab_size())
    model = GPT(cfg)
    with tempfile.TemporaryDirectory() as d:
        export_hf(model, Path(d)/"model", tok)
        (Path(d)/"prompts.json").write_text(json.dumps(prompts))
        print(f"model: {args.preset} ({cfg.n_layer}x{cfg.n_embd}, vocab {cfg.vocab_size}, {model.num_params(False)/1e6:.1f}M params); "
              f"{args.new_tokens} new tokens per row, top-k {args.top_k}; torch {torch.__version__}, {args.threads or torch.get_num_threads()} threads", flush=True)
        results = {}
        for r in range(args.rounds):
            for batch in args.batches:
                for impl in (["ours", "hf"] if r % 2 == 0 else ["hf", "ours"]):
                    cmd = [sys.executable, __file__, "--worker", impl, str(Path(d)/"model"), str(Path(d)/"prompts.json"),
                           "--batch", str(batch), "--new-tokens", str(args.new_tokens), "--top-k", str(args.top_k), "--repeats", str(args.repeats), "--threads", str(args.threads)]
                    res = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.splitlines()[-1])
                    results.setdefault((impl, batch), []).append(res)
                    print(f"  round {r + 1} {impl:4s} batch {batch:2d}: {res['tokens_per_s']:8.0f} new tokens/s", flush=True)
    med = lambda impl, b, k: statistics.median(x[k] for x in results[(impl, b)])
    print(f"\n{'batch':>5} | {'ours tok/s':>10} | {'HF tok/s':>9} | {'speed-up':>8} | {'ours peak MB (+gen)':>19} | {'HF peak MB (+gen)':>17}")
    for b in args.batches:
        o, h = med("ours", b, "tokens_per_s"), med("hf", b, "tokens_per_s")
        print(f"{b:>5} | {o:>10.0f} | {h:>9.0f} | {o / h:>7.1f}x | {med('ours', b, 'peak_mb'):>10.0f} ({med('ours', b, 'extra_mb'):>+5.0f}) |"
              f" {med('hf', b, 'peak_mb'):>8.0f} ({med('hf', b, 'extra_mb'):>+5.0f})")


if __name__ == "__main__":
    main()
