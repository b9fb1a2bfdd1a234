"""Generation throughput: tinystories_nb's KV-cache sampler vs Hugging Face `generate()`, same weights, side by side.

    .venv/bin/python bench/bench_generate.py [--preset 8M] [--vocab 8192] [--new-tokens 256] [--batches 1 16]
                                             [--repeats 4] [--threads N] [--no-memory] [--compile]

An `8M`-shaped `neo` model (random weights; speed does not depend on them) is exported once with
`tinystories_nb.model.hf.export_hf`. For each batch size one worker process loads that directory twice, with
`tinystories_nb.model.hf.import_hf` ("ours", sampled with `tinystories_nb.model.sample.generate_ids`) and with
`GPTNeoForCausalLM.from_pretrained` ("hf", sampled with `.generate()`), sets the same number of torch threads for
both, and then alternates them: ours, hf, hf, ours, ... (`--repeats` runs each), so machine noise hits both alike.
Both sample with top-k 50 at temperature 1 from the same left-padded prompts (openings of real TinyStories
validation stories) for exactly `--new-tokens` new tokens per row (no early stop), after a warm-up.

Reported per batch size: new tokens per second of each (median over repeats), the speed-up (median of the ratios
of adjacent ours/hf pairs, with their range), and a bound: the tokens per second of a step that did nothing but the
model's matrix products (every weight read once per step, in the layout our decoder uses, with the same kernels). At
batch 1 that is what memory bandwidth allows for fp32 weights, so `bound / hf` ("max speed-up") is the most any
decoder built on these matrix kernels could gain over `transformers` here; attention, norms, sampling and
per-operation overhead come on top. Then, unless `--no-memory`, each implementation runs once more in a fresh
process to measure memory: the peak RSS while generating and the part of it added by generating. With `--compile`,
each batch size also times a `torch.compile`d decode step against the eager one (compile time, ms per step). The
machine's load average is printed before and after: on a shared machine the absolute numbers are noisy; the ratios
are what to read. Workers run with OMP_WAIT_POLICY=PASSIVE unless it is set: with spinning OpenMP threads, a
2-thread run on a busy 2-core machine is 10-50x slower for both implementations and says nothing.

Notes behind the decoder's design (measured while designing it on a 2-core AMD EPYC, torch 2.13, 1 thread): weights
stored (in, out) are read ~20% faster than nn.Linear's (out, in) at batch 1 and 10-15% at batch 16; `torch.compile`
of the decode step (default and max-autotune-no-cudagraphs, dynamic shapes) took 3-5 s to compile with a warm
inductor cache (~50 s cold) and then ran each step slower than eager (5.4-5.9 vs 3.5-4.3 ms at batch 1): the step is
bound by reading the weights, which compiling does not change. So the sampler does not compile; `--compile` re-checks.
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


def runner(impl: str, model_dir: str, prompts: list, top_k: int):
    "A function (n_new_tokens, seed) -> rows of new token ids, for `impl` loaded from `model_dir`."
    import torch
    if impl == "ours":
        from tinystories_nb.model.hf import import_hf
        from tinystories_nb.model.sample import generate_ids
        model, _ = import_hf(model_dir, tokenizer=False)
        return model, lambda n, seed: generate_ids(model, prompts, max_new_tokens=n, temperature=1.0, top_k=top_k, seed=seed)
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
    return model, run


def matmul_bound(model, batch: int, steps: int = 30) -> float:
    "Seconds per decode step spent on nothing but the step's matrix products, weights in the decoder's layout, with its kernel."
    import torch
    from tinystories_nb.model.sample import Decoder
    dec = Decoder(model, model.new_cache(batch, 64))
    C = model.cfg.n_embd
    xs = {C: torch.randn(batch, C), model.cfg.hidden: torch.randn(batch, model.cfg.hidden)}
    mats = [w for L, *_ in dec.layers for w in (L.wqkv, L.wo, L.wfc, L.wgate, L.wp) if w is not None] + [dec.head]
    def step():
        for w in mats: dec.linear(xs[w.size(1)], w)     # the decoder's own kernel for its layout
    with torch.inference_mode():
        for _ in range(3): step()
        t0 = time.perf_counter()
        for _ in range(steps): step()
    return (time.perf_counter() - t0) / steps


def compile_check(model, batch: int, steps: int = 100) -> dict:
    "Compile time and ms per decode step of a `torch.compile`d `Decoder` vs the eager one, at position ~64."
    import torch
    from tinystories_nb.model.sample import Decoder
    def per_step(compiled: bool):
        with torch.inference_mode():
            cache = model.new_cache(batch, 64 + steps + 8); model(torch.zeros(batch, 64, dtype=torch.long), cache=cache)
            dec = Decoder(model, cache)
            step = torch.compile(dec.__call__, dynamic=True) if compiled else dec
            tok = torch.zeros(batch, dtype=torch.long)
            t0 = time.perf_counter(); step(tok); first = time.perf_counter() - t0
            for _ in range(3): step(tok)
            t0 = time.perf_counter()
            for _ in range(steps): step(tok)
            return first, (time.perf_counter() - t0) / steps * 1e3
    _, eager = per_step(False)
    first, compiled = per_step(True)
    return dict(compile_s=first, eager_ms=eager, compiled_ms=compiled)


def speed_worker(model_dir: str, prompts_file: str, batch: int, new_tokens: int, top_k: int, repeats: int, threads: int,
                 compile: bool = False) -> dict:
    import torch
    if threads: torch.set_num_threads(threads)
    prompts = json.loads(Path(prompts_file).read_text())[:batch]
    (ours_model, ours), (_, hf) = runner("ours", model_dir, prompts, top_k), runner("hf", model_dir, prompts, top_k)
    runs = {"ours": ours, "hf": hf}
    for f in runs.values(): f(16, 0)                          # warm-up (allocator, kernels, lazy init)
    times = {"ours": [], "hf": []}
    for r in range(repeats):
        for impl in (("ours", "hf") if r % 2 == 0 else ("hf", "ours")):
            t0 = time.perf_counter(); rows = runs[impl](new_tokens, r + 1); times[impl].append(time.perf_counter() - t0)
            assert len(rows) == batch and all(len(row) == new_tokens for row in rows), f"{impl}: a row stopped early"
    bound = min(matmul_bound(ours_model, batch) for _ in range(3))
    return dict(batch=batch, threads=torch.get_num_threads(), ours_s=times["ours"], hf_s=times["hf"], bound_s=bound,
                compile=compile_check(ours_model, batch) if compile else None)


def memory_worker(impl: str, model_dir: str, prompts_file: str, batch: int, new_tokens: int, top_k: int, threads: int) -> dict:
    import torch
    if threads: torch.set_num_threads(threads)
    prompts = json.loads(Path(prompts_file).read_text())[:batch]
    _, run = runner(impl, model_dir, prompts, top_k)
    run(16, 0)
    before = rss_mb()
    with PeakRSS() as mem: run(new_tokens, 1)
    return dict(peak_mb=mem.peak, extra_mb=mem.peak - before)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="8M"); ap.add_argument("--vocab", type=int, default=8192)
    ap.add_argument("--new-tokens", type=int, default=256); ap.add_argument("--top-k", type=int, default=50)
    ap.add_argument("--batches", type=int, nargs="+", default=[1, 16])
    ap.add_argument("--repeats", type=int, default=4, help="timed runs of each implementation per batch size, alternating")
    ap.add_argument("--threads", type=int, default=0, help="torch threads in each worker (0 = torch's default)")
    ap.add_argument("--no-memory", action="store_true", help="skip the memory measurement")
    ap.add_argument("--compile", action="store_true", help="also time a torch.compile'd decode step against the eager one")
    ap.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    ap.add_argument("--batch", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        if args.worker[0] == "speed":
            res = speed_worker(*args.worker[1:], args.batch, args.new_tokens, args.top_k, args.repeats, args.threads, args.compile)
        else: res = memory_worker(*args.worker[1:], args.batch, args.new_tokens, args.top_k, args.threads)
        print(json.dumps(res)); return

    import torch
    from tokenizers import Tokenizer, models, trainers, pre_tokenizers, decoders
    from tinystories_nb.synth.samples import find_sample, sample_path
    print(f"stories: {find_sample()}")   # real TinyStories when available, else the offline engine's
    from tinystories_nb.model.hf import export_hf
    from tinystories_nb.model.gpt import GPT, preset
    EOT = "<|endoftext|>"
    load0 = os.getloadavg()
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
    common = ["--new-tokens", str(args.new_tokens), "--top-k", str(args.top_k), "--repeats", str(args.repeats), "--threads", str(args.threads)]
    common += ["--compile"] if args.compile else []
    # idle OpenMP threads sleep instead of spinning: on a shared machine, spinning threads that wait for a descheduled
    # sibling make multi-threaded runs slower by orders of magnitude, for both implementations
    env = {**os.environ, "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", "PASSIVE")}
    def worker(*wargs, batch):
        cmd = [sys.executable, __file__, "--worker", *wargs, "--batch", str(batch), *common]
        return json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout.splitlines()[-1])
    with tempfile.TemporaryDirectory() as d:
        mdir, pfile = str(Path(d)/"model"), str(Path(d)/"prompts.json")
        export_hf(model, mdir, tok)
        Path(pfile).write_text(json.dumps(prompts))
        print(f"model: {args.preset} ({cfg.n_layer}x{cfg.n_embd}, vocab {cfg.vocab_size}, {model.num_params(False)/1e6:.1f}M params, "
              f"{sum(p.numel() for p in model.parameters()) * 4 / 2**20:.0f} MiB fp32); {args.new_tokens} new tokens per row, "
              f"top-k {args.top_k}; torch {torch.__version__}; load average {load0[0]:.1f} on {os.cpu_count()} CPUs", flush=True)
        speed, mem = {}, {}
        for b in args.batches:
            speed[b] = res = worker("speed", mdir, pfile, batch=b)
            for i, (o, h) in enumerate(zip(res["ours_s"], res["hf_s"])):
                print(f"  batch {b:2d} pair {i + 1}: ours {b * args.new_tokens / o:7.0f} tok/s, hf {b * args.new_tokens / h:7.0f} tok/s ({h / o:.1f}x)", flush=True)
        if not args.no_memory:
            for b in args.batches:
                for impl in ("ours", "hf"): mem[(impl, b)] = worker("memory", impl, mdir, pfile, batch=b)
    load1 = os.getloadavg()
    print(f"\nthreads per worker: {speed[args.batches[0]]['threads']} (OMP_WAIT_POLICY={env['OMP_WAIT_POLICY']}); load average {load0[0]:.1f} at start, {load1[0]:.1f} at the end"
          f" (1-min; {load1[1]:.1f} over 5 min)")
    print(f"{'batch':>5} | {'ours tok/s':>10} | {'HF tok/s':>9} | {'speed-up (range)':>17} | {'matmul bound tok/s':>18} | {'max speed-up':>12}"
          + ("" if args.no_memory else f" | {'ours peak MB (+gen)':>19} | {'HF peak MB (+gen)':>17}"))
    for b in args.batches:
        r = speed[b]
        o, h = (statistics.median(b * args.new_tokens / t for t in r[k]) for k in ("ours_s", "hf_s"))
        ratios = [hs / os_ for os_, hs in zip(r["ours_s"], r["hf_s"])]
        bound = b / r["bound_s"]
        line = (f"{b:>5} | {o:>10.0f} | {h:>9.0f} | {statistics.median(ratios):>5.1f}x ({min(ratios):.1f}-{max(ratios):.1f}) | "
                f"{bound:>18.0f} | {bound / h:>11.1f}x")
        if not args.no_memory:
            mo, mh = mem[("ours", b)], mem[("hf", b)]
            line += f" | {mo['peak_mb']:>10.0f} ({mo['extra_mb']:>+5.0f}) | {mh['peak_mb']:>8.0f} ({mh['extra_mb']:>+5.0f})"
        print(line)
    for b in args.batches:
        if c := speed[b]["compile"]:
            print(f"torch.compile, batch {b}: {c['compile_s']:.1f} s to compile; {c['compiled_ms']:.2f} ms per step compiled vs "
                  f"{c['eager_ms']:.2f} eager ({c['eager_ms'] / c['compiled_ms']:.2f}x)")


if __name__ == "__main__":
    main()
