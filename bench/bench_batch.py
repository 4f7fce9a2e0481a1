"""Benchmark: model requests per second a batch achieves against a server with fixed latency.

    python bench/bench_batch.py [--in-flight N] [--latency L] [--seconds S]

Starts the fake OpenAI-compatible server (verify.testing_server) in its own process with a fixed
latency L per answer, then keeps the batch's request layer (the in-flight bound over the openai
backend, as ``verify batch`` builds it, cache off) saturated with judge-sized requests for S
seconds. With N requests in flight the ideal rate is N / L; the script prints the achieved rate,
its fraction of N / L (the issue's target: >= 0.9 at N = 32, L = 0.2 s), the client's CPU time per
request and, where /proc tells it, the fake server's (both share the machine with whatever else runs,
so the fraction depends on the load; the CPU times much less).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from verify.batch.limits import LimitedChatBackend  # noqa: E402
from verify.llm import ChatRequest, OpenAIChatBackend  # noqa: E402

SCHEMA = {
    "type": "object",
    "properties": {"label": {"type": "string", "enum": ["supported", "disputed", "unverifiable"]}},
    "required": ["label"],
    "additionalProperties": False,
}


def request(i: int) -> ChatRequest:
    return ChatRequest(
        messages=[
            {"role": "system", "content": "Judge the claim against the evidence. " * 20},
            {"role": "user", "content": f"Evidence:\n[1] Some sentence number {i}.\n\nClaim: claim number {i}"},
        ],
        schema=SCHEMA,
        schema_name="verdict",
        max_tokens=16,
    )


def process_cpu(pid: int) -> float | None:
    """CPU seconds (user + system) a process has used so far, from /proc; None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def drive(url: str, in_flight: int, seconds: float, server_pid: int) -> tuple[int, float, float, float | None]:
    backend = OpenAIChatBackend(model="fake-model", base_url=url, api_key=None, timeout=30, max_retries=0)
    limited = LimitedChatBackend(backend, max_in_flight=in_flight)
    # the N connections set up outside the measurement
    await asyncio.gather(*(limited.acomplete(request(-1 - w)) for w in range(in_flight)))
    done = 0
    stop = time.perf_counter() + seconds
    cpu0, server0 = time.process_time(), process_cpu(server_pid)

    async def worker(w: int) -> None:
        nonlocal done
        i = w
        while time.perf_counter() < stop:
            await limited.acomplete(request(i))
            if time.perf_counter() <= stop:  # count what completes inside the window only
                done += 1
            i += in_flight

    await asyncio.gather(*(worker(w) for w in range(in_flight)))
    wall, cpu, server1 = seconds, time.process_time() - cpu0, process_cpu(server_pid)
    await backend.aclose()
    return done, wall, cpu, server1 - server0 if server0 is not None and server1 is not None else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--in-flight", type=int, default=32, help="N: requests in flight")
    parser.add_argument("--latency", type=float, default=0.2, help="L: seconds per answer at the server")
    parser.add_argument("--seconds", type=float, default=10.0, help="measurement length")
    args = parser.parse_args()
    server = subprocess.Popen(
        [sys.executable, "-m", "verify.testing_server", "--latency", str(args.latency)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        url = server.stdout.readline().strip()
        done, wall, cpu, server_cpu = asyncio.run(drive(url, args.in_flight, args.seconds, server.pid))
    finally:
        server.terminate()
        server.wait(timeout=10)
    ideal = args.in_flight / args.latency
    rate = done / wall
    print(f"N={args.in_flight} L={args.latency * 1000:.0f} ms: {done} requests in {wall:.1f} s")
    print(f"achieved {rate:.1f} requests/s = {rate / ideal:.2f} of N/L ({ideal:.1f}/s)")
    print(f"client CPU {cpu / done * 1000:.2f} ms per request ({cpu:.1f} s in all)")
    if server_cpu is not None:
        print(f"fake server CPU {server_cpu / done * 1000:.2f} ms per request ({server_cpu:.1f} s in all)")


if __name__ == "__main__":
    main()
