"""Closest training story by Rouge-2 precision: `RougeIndex` against brute-force scans, side by side in one run.

Collection: the shared TinyStories sample's first 900 stories, repeated to at least --stories (default 200,000).
Queries: the endings of the 100 held-out sample stories (cut mid-sentence by `evalsets.beginnings_from_stories`),
standing in for model completions: text from the training distribution that is not in the collection.

  rouge-score scan  RougeScorer(["rouge2"]).score(story, query).precision for every story, keep the best
                    (what a user would otherwise write; the issue measured ~270 us per pair)
  Counter scan      this package's rouge_precision against bigram Counters precomputed for every story
                    (a faster brute force; the Counters of the repeated stories are shared, so memory is not counted)
  RougeIndex        RougeIndex.build once (timed, with its size on disk and its peak memory), then index.query(q)

A full rouge-score scan of 200k stories takes about a minute, so it runs on the first --full-scans queries
(default 2); the per-query figure is their mean. Every query's top match is also checked against a rouge-score scan
of the 900 distinct stories: the collection repeats them, so its top match is the first copy of that story with the
same score (ties go to the lowest index in both). Ratios are per query. The machine is shared: compare within one
run, and read the CPU seconds next to the wall times.
Usage: python bench/bench_rouge.py [--stories 200000] [--queries 30] [--full-scans 2]
"""
import argparse, os, resource, statistics, tempfile, time
from collections import Counter
from pathlib import Path

def _status(key: str) -> float:
    "VmRSS / VmHWM of this process in MB."
    for line in open("/proc/self/status"):
        if line.startswith(key + ":"): return int(line.split()[1]) / 1024
    return float("nan")

def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime

def _du(path: Path) -> float: return sum(f.stat().st_size for f in path.iterdir()) / 1e6

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stories", type=int, default=200_000, help="collection size (the sample repeated)")
    ap.add_argument("--queries", type=int, default=30, help="queries (held-out endings), at most 100")
    ap.add_argument("--full-scans", type=int, default=2, help="queries scanned in full with rouge-score (about a minute each at 200k)")
    args = ap.parse_args()
    os.environ.setdefault("TINYSTORIES_PROGRESS", "0")
    from rouge_score import rouge_scorer
    from tinystories_nb.synth.samples import find_sample, sample_path
    print(f"stories: {find_sample()}")   # real TinyStories when available, else the offline engine's
    from tinystories_nb.data.stories import read_stories
    from tinystories_nb.eval.evalsets import beginnings_from_stories
    from tinystories_nb.data.text import ngrams
    from tinystories_nb.eval.metrics import RougeIndex, rouge_precision, rouge_tokens

    sample = [s.text for s in read_stories(sample_path())]
    base, held = sample[:900], sample[900:]
    reps = -(-args.stories // len(base))
    coll = base * reps
    queries = [b.original for b in beginnings_from_stories(held, seed=0)][:args.queries]
    print(f"collection: {len(coll):,} stories ({len(base)} distinct x {reps}); {len(queries)} queries "
          f"(held-out endings, {statistics.mean(len(rouge_tokens(q)) for q in queries):.0f} tokens on average); {os.cpu_count()} cores", flush=True)

    # --- RougeIndex: build, then query
    with tempfile.TemporaryDirectory() as d:
        rss0 = _status("VmRSS")
        t0, c0 = time.perf_counter(), _cpu()
        idx = RougeIndex.build(coll, Path(d)/"idx")
        t_build, c_build = time.perf_counter() - t0, _cpu() - c0
        mem_build = _status("VmHWM") - rss0
        size = _du(Path(d)/"idx")
        print(f"RougeIndex build: {t_build:.1f} s wall, {c_build:.1f} s CPU ({1e6 * t_build / len(coll):.0f} us/story), "
              f"{size:.0f} MB on disk, peak memory +{max(mem_build, 0):.0f} MB over the collection in memory; {idx}", flush=True)
        res, t_idx, c_idx, reads = [], [], [], []
        for q in queries:
            t0, c0 = time.perf_counter(), _cpu()
            r = idx.query(q)
            t_idx.append(time.perf_counter() - t0); c_idx.append(_cpu() - c0)
            res.append((r[0].idx, r[0].score) if r else None); reads.append(idx.last_query["postings_read"])

        # --- brute force with rouge-score: full scans of a few queries, distinct-story scans of all
        sc = rouge_scorer.RougeScorer(["rouge2"])
        def scan(q, texts):
            best, bi = -1.0, None
            for i, t in enumerate(texts):
                p = sc.score(t, q)["rouge2"].precision
                if p > best: best, bi = p, i
            return (bi, best) if best > 0 else None
        t_full, c_full, same_full = [], [], 0
        for q, r in zip(queries[:args.full_scans], res):
            t0, c0 = time.perf_counter(), _cpu()
            b = scan(q, coll)
            t_full.append(time.perf_counter() - t0); c_full.append(_cpu() - c0)
            same_full += b == r
            print(f"  rouge-score full scan: {t_full[-1]:.1f} s, top match {b}, index {r}", flush=True)
        same_distinct = sum(scan(q, base) == r for q, r in zip(queries, res))

        # --- brute force over precomputed Counters
        counts = [Counter(ngrams(rouge_tokens(t), 2)) for t in base] * reps
        t_cnt, same_cnt = [], 0
        for q, r in zip(queries[:args.full_scans], res):
            t0 = time.perf_counter()
            qc = Counter(ngrams(rouge_tokens(q), 2))
            ps = [rouge_precision(qc, c) for c in counts]
            bi = max(range(len(ps)), key=lambda i: (ps[i], -i))
            t_cnt.append(time.perf_counter() - t0)
            same_cnt += ((bi, ps[bi]) if ps[bi] > 0 else None) == r

    full = statistics.mean(t_full) if t_full else float("nan")
    med = statistics.median(t_idx)
    p90 = sorted(t_idx)[int(0.9 * (len(t_idx) - 1))]
    print()
    cfull = statistics.mean(c_full) if c_full else float("nan")
    cmed = statistics.median(c_idx)
    print(f"{'method':<22}{'per query (wall)':>18}{'ratio':>10}{'CPU per query':>16}{'ratio':>10}   same top match")
    print(f"{'rouge-score scan':<22}{full:>16.2f} s{'1x':>10}{cfull:>14.2f} s{'1x':>10}   (reference)")
    cnt = statistics.mean(t_cnt) if t_cnt else float("nan")
    print(f"{'Counter scan':<22}{cnt:>16.2f} s{full / cnt:>9.0f}x{'':>26}   {same_cnt}/{len(t_cnt)}")
    print(f"{'RougeIndex (median)':<22}{1e3 * med:>15.1f} ms{full / med:>9,.0f}x{1e3 * cmed:>13.1f} ms{cfull / max(cmed, 1e-9):>9,.0f}x   "
          f"{same_full}/{len(t_full)} full scans, {same_distinct}/{len(queries)} distinct-story scans")
    print(f"{'RougeIndex (p90)':<22}{1e3 * p90:>15.1f} ms{full / p90:>9,.0f}x")
    print(f"RougeIndex reads {statistics.median(reads) / len(coll):.1f} postings per indexed story per query (median); "
          f"rouge-score costs {1e6 * full / len(coll):.0f} us per story pair here, so a scan of the 2,119,719-story train set "
          f"would take about {full / len(coll) * 2_119_719 / 60:.1f} min per query")

if __name__ == "__main__":
    main()
