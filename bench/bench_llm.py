"""Benchmark the LLM path against the loopback server (`testing.FakeOpenAI`, run in its own process) with a fixed
latency per request: stories/s at a given concurrency versus the ideal (concurrency / latency), for

  1. the bare `openai` SDK (AsyncOpenAI + a semaphore: what a user would write by hand), with its default httpx
     transport and with its aiohttp one (which `LLMClient` uses when installed),
  2. `llm.LLMClient.chat_many` (retries, accounting, budget checks),
  3. the whole job (`generate.generate_stories`: SQLite job store, validation, stories.jsonl),

plus the job store's own cost per request, measured directly, and the offline job versus the offline teacher
alone (the same stories with no store). All figures come from one run, side by side.

    python bench/bench_llm.py                      # 1280 stories, concurrency 32, latency 0.2 s

Each run includes its fixed costs (sampling the prompts, filling the job store, writing stories.jsonl: about
0.15 s for the job) and the ramp-up of its connections, so shorter runs land further below the ideal
(`--n 640`: about 3 points lower).
    python bench/bench_llm.py --n 320 --concurrency 16 --latency 0.1
"""
import argparse, asyncio, os, subprocess, sys, tempfile, time
from pathlib import Path

os.environ.setdefault("TINYSTORIES_PROGRESS", "0")
from tinystories_nb.data.stories import Story, write_jsonl
from tinystories_nb.synth.generate import GenerateConfig, _valid, generate_stories
from tinystories_nb.synth.store import JobStore
from tinystories_nb.synth.llm import LLMClient
from tinystories_nb.synth.prompts import sample_prompts
from tinystories_nb.synth.engine import OfflineTeacher
from tinystories_nb.synth.teachers import LLMTeacher

# The server answers from a table of pre-written stories, so its own CPU use stays negligible.
SERVER = """
import sys
from tinystories_nb.core import canonical_json
from tinystories_nb.synth.prompts import sample_prompts
from tinystories_nb.synth.engine import OfflineTeacher
from tinystories_nb.synth.teachers import LLMTeacher
from tinystories_nb.synth.testing import FakeOpenAI, ok
n, seed, latency = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
t, llm = OfflineTeacher(seed=seed), LLMTeacher(None)
table = {canonical_json(llm.messages(s)): t.write(s) for s in sample_prompts(n, seed=seed)}
srv = FakeOpenAI(lambda req: ok(table[canonical_json(req["messages"])]) if canonical_json(req["messages"]) in table else None,
                 latency=latency).start()
print(srv.base_url, flush=True)
sys.stdin.read()
"""

def start_server(n, seed, latency):
    p = subprocess.Popen([sys.executable, "-c", SERVER, str(n), str(seed), str(latency)], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, text=True)
    return p, p.stdout.readline().strip()

async def raw_sdk(base_url, convs, concurrency, aiohttp=False):
    import openai
    client = openai.AsyncOpenAI(base_url=base_url, api_key="x", max_retries=0,
                                **({"http_client": openai.DefaultAioHttpClient()} if aiohttp else {}))
    sem = asyncio.Semaphore(concurrency)
    async def one(m):
        async with sem:
            r = await client.chat.completions.create(model="gpt-4o-mini", messages=m, temperature=1.0, max_tokens=800)
            return r.choices[0].message.content
    out = await asyncio.gather(*(one(m) for m in convs))
    await client.close()
    return out

def timed(f):
    "(wall seconds, CPU seconds of this process, result) of `f()`."
    t0, c0 = time.perf_counter(), time.process_time(); r = f()
    return time.perf_counter() - t0, time.process_time() - c0, r

def store_overhead(specs, group):
    "Seconds per row for claim + finish through the job store, `group` rows per transaction."
    with tempfile.TemporaryDirectory() as d, JobStore(Path(d)/"jobs.sqlite") as store:
        store.add(specs)
        t0 = time.process_time()
        while rows := store.claim(group):
            store.finish([{"id": r["id"], "status": "done", "response": "x" * 900, "source": "m", "finish_reason": "stop",
                           "usage": {"prompt_tokens": 100, "completion_tokens": 200}, "cost_usd": 1e-4} for r in rows],
                         meta={"cost_usd": 1.0})
        return (time.process_time() - t0) / len(specs)

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1280)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--latency", type=float, default=0.2)
    ap.add_argument("--offline-n", type=int, default=2000)
    a = ap.parse_args()
    seed, ideal = 5, a.concurrency / a.latency
    specs = sample_prompts(a.n, seed=seed)
    convs = [LLMTeacher(None).messages(s) for s in specs]
    proc, url = start_server(a.n, seed, a.latency)
    try:
        asyncio.run(raw_sdk(url, convs[:a.concurrency], a.concurrency))                 # warm-up: imports, connections
        t_raw, c_raw, texts = timed(lambda: asyncio.run(raw_sdk(url, convs, a.concurrency)))
        asyncio.run(raw_sdk(url, convs[:a.concurrency], a.concurrency, aiohttp=True))
        t_aio, c_aio, texts2 = timed(lambda: asyncio.run(raw_sdk(url, convs, a.concurrency, aiohttp=True)))
        client = LLMClient("gpt-4o-mini", base_url=url, api_key_env=None, max_concurrency=a.concurrency)
        t_cli, c_cli, res = timed(lambda: client.sync(client.chat_many(convs, temperature=1.0, max_tokens=800)))
        with tempfile.TemporaryDirectory() as d:
            cfg = GenerateConfig(teacher="openai", n=a.n, seed=seed, base_url=url, api_key_env=None,
                                 concurrency=a.concurrency, summaries=False)
            t_job, c_job, rep = timed(lambda: generate_stories(Path(d)/"job", cfg))
    finally:
        proc.stdin.close(); proc.wait(timeout=10)
    assert all(t for t in texts + texts2) and all(r.text for r in res) and rep.counts["done"] == a.n, rep.counts
    print(f"LLM path: {a.n} stories, concurrency {a.concurrency}, latency {a.latency * 1000:.0f} ms -> ideal {ideal:.1f} stories/s")
    for name, t, c in [("bare openai SDK (httpx)", t_raw, c_raw), ("bare openai SDK (aiohttp)", t_aio, c_aio),
                       ("LLMClient.chat_many", t_cli, c_cli),
                       ("generate_stories() job, SQLite store", t_job, c_job)]:
        print(f"  {name:30s} {a.n / t:7.1f} stories/s = {a.n / t / ideal:6.1%} of ideal ({t:.2f} s); "
              f"client CPU {c / a.n * 1e3:.2f} ms/request")
    print(f"  job vs bare SDK: {t_raw / t_job:.2f}x the throughput; CPU per request: client - SDK "
          f"{(c_cli - c_raw) / a.n * 1e3:+.2f} ms, job - client {(c_job - c_cli) / a.n * 1e3:+.2f} ms "
          f"(store, validation, prompts, stories.jsonl)")
    for g in (1, a.concurrency):
        print(f"  job store alone: claim + finish, {g:2d} row(s) per transaction: {store_overhead(specs, g) * 1e6:7.1f} µs CPU per row")
    print(f"  (load average while running: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")

    teacher = OfflineTeacher(seed=seed)
    def bare():                                     # the same work as a plain loop: no store, no resume
        out = []
        for s in sample_prompts(a.offline_n, seed=seed):
            text = teacher.write(s)
            if not _valid(text, s):
                out.append(Story(text, id=s.id, words=s.word_list, features=s.features, summary=teacher.summarize(text, s)))
        with tempfile.TemporaryDirectory() as d: write_jsonl(out, Path(d)/"stories.jsonl")
    t_bare, _, _ = timed(bare)
    with tempfile.TemporaryDirectory() as d:
        t_off, _, rep = timed(lambda: generate_stories(Path(d)/"off", GenerateConfig(teacher="offline", n=a.offline_n, seed=seed)))
    print(f"offline: {a.offline_n} stories: a plain loop (prompts, teacher, validation, summary, jsonl) "
          f"{a.offline_n / t_bare:6.1f} stories/s; the resumable job {a.offline_n / t_off:6.1f} stories/s = {t_bare / t_off:.2f}x")

if __name__ == "__main__":
    main()
