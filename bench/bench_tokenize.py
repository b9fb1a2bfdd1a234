"""Pretokenisation throughput: `tinystories prepare`'s pipeline against what a user would otherwise write.

Input: the shared TinyStories sample repeated to >= 50 MB (--mb). Tokenizer: a 4096-token byte-level BPE trained
on the sample. Each method runs in its own fresh process (so peak memory is its own), one after the other:

  encode_batch  tokenizers' own batch encoder on all stories, in memory (reading the file not timed)
  naive loop    tokenizer.encode(story).ids story by story, one process, in memory (reading not timed)
  prepare       the package pipeline end to end from the file: read, clean, encode, write train/val shards
                and the manifest (duplicate removal off, since the input repeats the sample; hashing still runs)
  prepare x1    the same pipeline in one process (--n-proc 1)

Throughput is MB of story text (UTF-8) per second of wall time; ratios are against encode_batch. CPU seconds
(user + system, all threads and worker processes) are printed too: on a machine shared with other work the wall
times move with the load, the CPU seconds much less. Peak memory is the process's own high-water mark (VmHWM)
and, for the pipeline, the largest worker's.
Usage: python bench/bench_tokenize.py [--mb 50] [--skip-naive]
"""
import argparse, json, os, resource, subprocess, sys, tempfile, time
from pathlib import Path

def _hwm_mb() -> float:
    "This process's peak RSS (VmHWM: unlike ru_maxrss it does not inherit the parent's peak across exec)."
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"): return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

def _cpu() -> float:
    return sum(getattr(resource.getrusage(w), f) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN) for f in ("ru_utime", "ru_stime"))

def _children_rss_mb() -> float: return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024

def run_method(method: str, data: Path, tok_path: Path, out: Path) -> dict:
    "Runs in the child process: time one method, return its figures."
    from tokenizers import Tokenizer
    from tinystories_nb.data.stories import read_stories
    tok = Tokenizer.from_file(str(tok_path))
    if method in ("encode_batch", "naive"):
        texts = [s.text for s in read_stories(data)]
        nbytes = sum(len(t.encode("utf-8")) for t in texts)
        t0, c0 = time.perf_counter(), _cpu()
        if method == "encode_batch": n_tok = sum(len(e.ids) for e in tok.encode_batch(texts, add_special_tokens=False))
        else: n_tok = sum(len(tok.encode(t, add_special_tokens=False).ids) for t in texts)
        secs, cpu = time.perf_counter() - t0, _cpu() - c0
        return dict(secs=secs, cpu=cpu, mb=nbytes / 1e6, tokens=n_tok, rss=_hwm_mb(), children_rss=0.0)
    from tinystories_nb.data.clean import CleanConfig
    from tinystories_nb.data.tokenize import PrepareConfig, prepare
    n_proc = 1 if method == "prepare1" else None
    t0, c0 = time.perf_counter(), _cpu()
    p = prepare(data, out, tokenizer=tok_path, cfg=PrepareConfig(clean=CleanConfig(dedupe=False), n_proc=n_proc), force=True)
    secs, cpu = time.perf_counter() - t0, _cpu() - c0
    s = p.manifest["splits"]
    raw_mb = data.stat().st_size / 1e6   # input text as read (the cleaned text is a little smaller)
    return dict(secs=secs, cpu=cpu, mb=raw_mb, tokens=s["train"]["tokens"] + s["val"]["tokens"], rss=_hwm_mb(), children_rss=_children_rss_mb())

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mb", type=float, default=50, help="input size in MB (the sample repeated)")
    ap.add_argument("--skip-naive", action="store_true", help="skip the (slow) naive loop")
    ap.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        method, data, tok, out = args.child
        print(json.dumps(run_method(method, Path(data), Path(tok), Path(out)))); return
    from tinystories_nb.synth.samples import find_sample, sample_path
    print(f"stories: {find_sample()}")   # real TinyStories when available, else the offline engine's
    from tinystories_nb.data.clean import clean_text
    from tinystories_nb.data.stories import read_stories
    from tinystories_nb.data.tokenize import save_tokenizer, train_tokenizer
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        sample = sample_path().read_text(encoding="utf-8")
        reps = int(args.mb * 1e6 // len(sample.encode("utf-8"))) + 1
        data = d/"big.txt"
        with open(data, "w", encoding="utf-8") as f:
            for _ in range(reps): f.write(sample)
        tok_path = d/"tokenizer.json"
        save_tokenizer(train_tokenizer((clean_text(s.text)[0] for s in read_stories(sample_path())), 4096), tok_path)
        print(f"input: {data.stat().st_size / 1e6:.1f} MB ({reps} x the sample, {1000 * reps:,} stories), 4096-token BPE, "
              f"{os.cpu_count()} cores; one fresh process per method", flush=True)
        methods = [("encode_batch", "tokenizers encode_batch (in memory)"), ("naive", "naive loop tok.encode (in memory)"),
                   ("prepare", "prepare pipeline (file -> shards)"), ("prepare1", "prepare pipeline, --n-proc 1")]
        rows = {}
        for m, label in methods:
            if m == "naive" and args.skip_naive: continue
            env = {**os.environ, "TINYSTORIES_PROGRESS": "0"}
            r = subprocess.run([sys.executable, __file__, "--child", m, str(data), str(tok_path), str(d/f"out_{m}")],
                               capture_output=True, text=True, env=env)
            if r.returncode: sys.exit(f"{m} failed:\n{r.stderr[-3000:]}")
            rows[m] = (label, json.loads(r.stdout.strip().splitlines()[-1]))
            print(f"  done: {label}", flush=True)
        base = rows["encode_batch"][1]["mb"] / rows["encode_batch"][1]["secs"]
        cbase = rows["encode_batch"][1]["mb"] / rows["encode_batch"][1]["cpu"]
        print(f"\n{'method':38} {'wall s':>7} {'MB/s':>6} {'vs encode_batch':>15} {'CPU s':>6} {'MB/CPU-s':>8} {'vs':>6} {'tokens':>11} {'peak RSS MB':>12}")
        for m, (label, r) in rows.items():
            rate, crate = r["mb"] / r["secs"], r["mb"] / r["cpu"]
            rss = f"{r['rss']:.0f}" + (f" + {r['children_rss']:.0f}" if r["children_rss"] else "")
            print(f"{label:38} {r['secs']:7.1f} {rate:6.2f} {rate / base:14.2f}x {r['cpu']:6.1f} {crate:8.2f} {crate / cbase:5.2f}x {r['tokens']:11,} {rss:>12}")
        print("peak RSS: the main process + the largest worker process (which starts from the main process's peak at spawn time)")

if __name__ == "__main__":
    main()
