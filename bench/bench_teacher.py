"""How fast is the offline teacher, next to what a user would otherwise wait for?

    .venv/bin/python bench/bench_teacher.py [--n 2000] [--llm-latency 1.0] [--concurrency 16]

On one core (pinned where the OS allows), side by side in one run:
  - sampling prompts (`sample_prompts`), writing stories (`OfflineTeacher.write`), summarising them, validating them;
  - reading the same number of real TinyStories from disk (`data.read_text` on the shared sample, repeated);
  - the LLM teacher through the package's `LLMClient` against the loopback server (`testing.FakeOpenAI`) with a fixed
    per-request latency, and the rate that latency model gives for a real API (concurrency / seconds per story).
Timings on shared machines are noisy: compare the ratios, which are measured in the same run.
"""
import argparse, asyncio, os, sys, tempfile, time
from pathlib import Path

def pin_one_core():
    if hasattr(os, "sched_setaffinity"):
        cpu = sorted(os.sched_getaffinity(0))[0]
        os.sched_setaffinity(0, {cpu})
        return f"pinned to CPU {cpu}"
    return "not pinned (no sched_setaffinity)"

def timed(fn, *a, repeat: int = 3):
    "Best of `repeat` wall times (seconds) and the last result."
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter(); out = fn(*a); best = min(best, time.perf_counter() - t0)
    return best, out

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=2000, help="stories per measurement")
    ap.add_argument("--llm-latency", type=float, default=1.0, help="seconds the loopback server waits per request")
    ap.add_argument("--llm-requests", type=int, default=64)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--api-seconds-per-story", type=float, default=10.0,
                    help="a real API's time per ~300-token story (GPT-4-class at ~30-50 tokens/s), for the modelled rate")
    args = ap.parse_args(argv)
    os.environ.setdefault("TINYSTORIES_PROGRESS", "0")
    where = pin_one_core()

    from tinystories_nb.synth.samples import find_sample, sample_path
    print(f"stories: {find_sample()}")   # real TinyStories when available, else the offline engine's
    from tinystories_nb.data.stories import read_text
    from tinystories_nb.synth.prompts import sample_prompts
    from tinystories_nb.synth.engine import OfflineTeacher
    from tinystories_nb.synth.teachers import LLMTeacher, validate_story
    from tinystories_nb.synth.vocab import load_vocab
    vocab = load_vocab()
    n = args.n
    rows = []

    t_prompts, specs = timed(lambda: sample_prompts(n, seed=0, vocab=vocab))
    rows.append(("sample_prompts", n / t_prompts))
    def write_all():
        t = OfflineTeacher(seed=0, vocab=vocab)
        return [t.write(s) for s in specs]
    t_write, texts = timed(write_all)
    rows.append(("OfflineTeacher.write", n / t_write))
    def write_and_summarize():
        t = OfflineTeacher(seed=0, vocab=vocab)
        return [t.summarize(t.write(s), s) for s in specs]
    t_ws, _ = timed(write_and_summarize)
    rows.append(("write + summarize", n / t_ws))
    t_val, bad = timed(lambda: [r for s, x in zip(specs, texts) if (r := validate_story(x, s, vocab=vocab))])
    assert not bad, bad[:3]
    rows.append(("validate_story", n / t_val))

    real = sample_path().read_bytes()
    per_copy = real.count(b"<|endoftext|>")
    with tempfile.TemporaryDirectory() as d:
        p = Path(d)/"real.txt"
        p.write_bytes(real * -(-n // per_copy))
        t_read, got = timed(lambda: [s for _, s in zip(range(n), read_text(p))])
    rows.append(("read real stories (data.read_text)", n / t_read))

    from tinystories_nb.synth.llm import LLMClient
    from tinystories_nb.synth.testing import FakeOpenAI
    k = args.llm_requests
    with FakeOpenAI(lambda req: texts[0], latency=args.llm_latency) as srv:
        client = LLMClient("gpt-4o-mini", base_url=srv.base_url, api_key_env=None, max_concurrency=args.concurrency)
        teacher = LLMTeacher(client)
        t0 = time.perf_counter()
        res = asyncio.run(client.chat_many([teacher.messages(s) for s in specs[:k]], temperature=1.0, max_tokens=600))
        t_llm = time.perf_counter() - t0
    assert all(getattr(r, "text", None) == texts[0] for r in res)
    rows.append((f"LLM teacher, loopback, {args.llm_latency:g} s/request, {args.concurrency} in flight", k / t_llm))
    api = args.concurrency / args.api_seconds_per_story
    rows.append((f"LLM teacher, real API model: {args.concurrency} in flight / {args.api_seconds_per_story:g} s per story", api))

    offline = n / t_write
    print(f"offline teacher benchmark: {n} prompts, {where}, python {sys.version.split()[0]}")
    print(f"{'':78}{'stories/s':>12}{'offline ÷ this':>16}")
    for name, rate in rows: print(f"{name:78}{rate:12.1f}{offline / rate:16.2f}")
    print(f"\n2,000 offline stories take {2000 / offline:.1f} s here; a real API at the modelled rate needs {2000 / api / 60:.0f} min.")

if __name__ == "__main__":
    main()
