"""Load and latency of ``kg serve`` against ``oxigraph serve-read-only`` on the same store.

``python benchmarks/serve.py [--store DIR | --records N] [--concurrency 16] [--requests 2000] [--json]``

Builds a store from the bundled sample (``examples/pfocr-sample``), or from ``N`` synthetic
records (``benchmarks/generate.py``), unless ``--store`` names one; starts ``kg serve``
(twice: with its answer cache, and with ``--cache-mb 0``) and ``oxigraph serve-read-only``
on that store's live generation, all on 127.0.0.1; then for each server and each query
(the library's ``genes-of-figure`` with its example parameter: cheap; ``top-genes``: an
aggregate over every figure) runs ``--concurrency`` clients (asyncio, one keep-alive HTTP/1.1
connection each) until ``--requests`` answers, and reports throughput, p50, p99 and errors
(``--rounds`` interleaved rounds, the median one: the machine's load drifts).
Last, with one cartesian query running on ``kg serve`` until its ``--timeout`` stops it,
the cheap query's p99 meanwhile.  Every server is stopped by the script itself.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
KG = [sys.executable, "-m", "kg.cli"]
CARTESIAN = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def library_query(name: str) -> str:
    from kg.query import declare_prefixes, example_query, list_queries

    query = next(q for q in list_queries() if q.name == name)
    return declare_prefixes(example_query(query))[0]


def wait_ready(url: str, process: subprocess.Popen, what: str, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url + "?" + urllib.parse.urlencode({"query": "ASK {}"}), timeout=5):
                return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"{what} did not start (exit status {process.poll()})")
            time.sleep(0.2)


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


# --------------------------------------------------------------------------- the client


async def _request(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, head: bytes) -> int:
    """Send one GET on a keep-alive connection; read the whole answer; its status."""
    writer.write(head)
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionError("connection closed")
    status = int(status_line.split()[1])
    length, chunked = None, False
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b"\n", b""):
            break
        name, _, value = line.decode("latin-1").partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value)
        elif name == "transfer-encoding" and "chunked" in value.lower():
            chunked = True
    if chunked:
        while True:
            size = int((await reader.readline()).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    elif length:
        await reader.readexactly(length)
    return status


async def load(port: int, path: str, query: str, concurrency: int, requests: int, seconds: float) -> dict:
    """``concurrency`` clients sending the query until ``requests`` answers (or ``seconds``)."""
    target = f"{path}?{urllib.parse.urlencode({'query': query})}"
    head = (f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Accept: application/sparql-results+json\r\n\r\n").encode()
    latencies: list[float] = []
    errors: dict[str, int] = {}
    sent = 0
    deadline = time.monotonic() + seconds

    async def client() -> None:
        nonlocal sent
        reader = writer = None
        while sent < requests and time.monotonic() < deadline:
            sent += 1
            start = time.perf_counter()
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection("127.0.0.1", port)
                status = await asyncio.wait_for(_request(reader, writer, head), 60)
                if status != 200:
                    errors[str(status)] = errors.get(str(status), 0) + 1
            except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError, ValueError, IndexError) as exc:
                errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
                if writer is not None:
                    writer.close()
                reader = writer = None
                continue
            latencies.append(time.perf_counter() - start)
        if writer is not None:
            writer.close()

    begin = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    wall = time.perf_counter() - begin
    latencies.sort()

    def pct(p: float) -> float:
        return round(latencies[min(int(p * len(latencies)), len(latencies) - 1)] * 1000, 1) if latencies else 0.0

    return {"requests": len(latencies) + sum(errors.values()), "ok": len(latencies), "errors": errors,
            "seconds": round(wall, 2), "req_per_s": round(len(latencies) / wall, 1) if wall else 0.0,
            "p50_ms": pct(0.50), "p99_ms": pct(0.99), "max_ms": pct(1.0),
            "over_1s": sum(1 for x in latencies if x > 1)}


async def cheap_while_cartesian(port: int, cheap: str, concurrency: int, requests: int) -> dict:
    """The cheap query's latency while one cartesian query runs until the server stops it."""
    async def slow() -> dict:
        start = time.perf_counter()
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        head = (f"GET /sparql?{urllib.parse.urlencode({'query': CARTESIAN})} HTTP/1.1\r\n"
                f"Host: 127.0.0.1\r\n\r\n").encode()
        status = await asyncio.wait_for(_request(reader, writer, head), 600)
        writer.close()
        return {"status": status, "seconds": round(time.perf_counter() - start, 2)}

    slow_task = asyncio.create_task(slow())
    await asyncio.sleep(0.3)  # it is running
    cheap_result = await load(port, "/sparql", cheap, concurrency, requests, 3600)
    return {"cartesian": await slow_task, "cheap": cheap_result}


# --------------------------------------------------------------------------- servers


def start_kg(store: Path, port: int, extra: list[str]) -> subprocess.Popen:
    process = subprocess.Popen(KG + ["serve", "--store", str(store), "--port", str(port), *extra], cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    wait_ready(f"http://127.0.0.1:{port}/sparql", process, "kg serve")
    return process


def start_oxigraph(store: Path, port: int) -> subprocess.Popen:
    binary = shutil.which("oxigraph") or str(Path(sys.executable).parent / "oxigraph")
    from kg.store import generation_of

    number = generation_of(store)
    location = store / f"gen-{number}" if number is not None else store
    process = subprocess.Popen([binary, "serve-read-only", "--location", str(location), "--bind",
                                f"127.0.0.1:{port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    wait_ready(f"http://127.0.0.1:{port}/query", process, "oxigraph serve-read-only")
    return process


def build_store(args: argparse.Namespace, work: Path) -> Path:
    if args.store:
        return Path(args.store)
    source = ROOT / "examples" / "pfocr-sample"
    if args.records:
        sys.path.insert(0, str(HERE))
        from generate import generate

        source = work / "corpus"
        generate(args.records, source, 0)
    store = work / "store"
    subprocess.run(KG + ["build", str(source), "--store", str(store)], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return store


def median_run(runs: list[dict]) -> dict:
    """The run with the median throughput (its latencies with it); every run's errors summed."""
    ordered = sorted(runs, key=lambda r: r["req_per_s"])
    chosen = dict(ordered[len(ordered) // 2])
    errors: dict[str, int] = {}
    for run in runs:
        for key, n in run["errors"].items():
            errors[key] = errors.get(key, 0) + n
    chosen["errors"] = errors
    chosen["req_per_s_all_rounds"] = [r["req_per_s"] for r in runs]
    return chosen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", help="an existing kg store (default: build one from the sample)")
    parser.add_argument("--records", type=int, help="build from N synthetic records instead of the sample")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--requests", type=int, default=2000, help="answers per measurement (default: 2000)")
    parser.add_argument("--aggregate-requests", type=int, default=400, help="answers for top-genes (default: 400)")
    parser.add_argument("--seconds", type=float, default=120, help="cap on each measurement's duration")
    parser.add_argument("--timeout", type=float, default=10, help="kg serve --timeout for the cartesian query")
    parser.add_argument("--workers", type=int, default=2, help="kg serve --workers")
    parser.add_argument("--rounds", type=int, default=3,
                        help="measure each server this many times, interleaved; report the median (default: 3)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()

    cheap, aggregate = library_query("genes-of-figure"), library_query("top-genes")
    results: dict[str, Any] = {"concurrency": args.concurrency, "cpus": os.cpu_count(), "rounds": args.rounds,
                               "load_before": [round(x, 2) for x in os.getloadavg()], "servers": {}}
    with tempfile.TemporaryDirectory(prefix="kg-serve-bench-") as tmp:
        store = build_store(args, Path(tmp))
        results["store"] = str(store) if args.store else ("sample" if not args.records else f"{args.records} records")
        servers = [("oxigraph serve-read-only", None),
                   ("kg serve", ["--cache-mb", "64"]), ("kg serve --cache-mb 0", ["--cache-mb", "0"])]
        common = ["--workers", str(args.workers), "--timeout", str(args.timeout)]
        running: dict[str, tuple[subprocess.Popen, int, str]] = {}
        try:
            for name, extra in servers:  # all up at once; measured in turn, round after round
                port = free_port()
                process = start_oxigraph(store, port) if extra is None else start_kg(store, port, common + extra)
                running[name] = (process, port, "/query" if extra is None else "/sparql")
            rounds: dict[str, dict[str, list[dict]]] = {name: {} for name, _ in servers}
            for _ in range(args.rounds):
                for label, query, count in (("genes-of-figure", cheap, args.requests),
                                            ("top-genes", aggregate, args.aggregate_requests)):
                    for name, _ in servers:
                        _, port, path = running[name]
                        asyncio.run(load(port, path, query, args.concurrency, 50, 30))  # warm up
                        rounds[name].setdefault(label, []).append(
                            asyncio.run(load(port, path, query, args.concurrency, count, args.seconds)))
            for name, extra in servers:
                row = {label: median_run(runs) for label, runs in rounds[name].items()}
                if extra is not None:
                    _, port, _ = running[name]
                    row["genes-of-figure while a cartesian query runs"] = asyncio.run(
                        cheap_while_cartesian(port, cheap, args.concurrency, args.requests))
                results["servers"][name] = row
        finally:
            for process, _, _ in running.values():
                stop(process)
        oxigraph = results["servers"]["oxigraph serve-read-only"]
        results["ratio_to_oxigraph"] = {
            name: {label: round(row[label]["req_per_s"] / oxigraph[label]["req_per_s"], 2)
                   for label in ("genes-of-figure", "top-genes") if oxigraph[label]["req_per_s"]}
            for name, row in results["servers"].items() if name != "oxigraph serve-read-only"}
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"store: {results['store']}; concurrency {args.concurrency}; {results['cpus']} CPUs; "
          f"median of {args.rounds} interleaved rounds; load average before: {results['load_before']}")
    print(f"{'server':<26} {'query':<18} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'>1 s':>5} {'errors':>7}")
    for name, row in results["servers"].items():
        for label, m in row.items():
            if "cheap" in m:
                c = m["cartesian"]
                m = m["cheap"]
                label = f"genes-of-figure during cartesian ({c['status']} after {c['seconds']} s)"
            print(f"{name:<26} {label:<18} {m['req_per_s']:>8} {m['p50_ms']:>8} {m['p99_ms']:>8} "
                  f"{m['over_1s']:>5} {sum(m['errors'].values()):>7}  {m.get('req_per_s_all_rounds', '')}")
    for name, ratios in results["ratio_to_oxigraph"].items():
        print(f"{name}: throughput / oxigraph's: " + ", ".join(f"{k} {v}x" for k, v in ratios.items()))


if __name__ == "__main__":
    main()
