"""Benchmark ``kg build`` against a parse-only floor, Oxigraph's bulk loader and a naive rdflib script.

``python benchmarks/run.py --sizes 1000 10000 [--jobs 2] [--naive-cap 10000] [--json FILE]``

``python benchmarks/run.py --query-store 100000=STORE ...``: only the query library, on stores
built before (``kg build benchmarks/corpus/N --store STORE``).  Either way the run ends with the
per-query table: wall time of each library query's process (start, store opened, query,
output) and, in parentheses, the query's own seconds, for each size.

For each size N the synthetic corpus is generated once into ``benchmarks/corpus/N`` (reused
afterwards).  Every measurement runs in a fresh child process; its wall time, CPU time
(user + sys, children included) and peak RSS come from ``os.wait4`` on that child.  Peak RSS
is the largest single process (a worker pool's processes are not summed).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
CORPORA = HERE / "corpus"
PY = sys.executable
KG = [PY, "-m", "kg.cli"]
BASE = [PY, str(HERE / "baselines.py")]
_TRIPLES = re.compile(r"(\d+) (?:triples|quads) written")
_TICK = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclass
class Measure:
    """One measurement of one tool on one corpus."""

    name: str
    wall: float | None = None
    cpu: float | None = None
    rss_mb: float | None = None
    tree_rss_mb: float | None = None
    tree_cpu: float | None = None
    triples: int | None = None
    records_per_s: float | None = None
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


class TreeSampler(threading.Thread):
    """Samples a session's processes (worker pools included) every ``interval`` s:
    peak of their summed RSS, and their CPU time (last sample of each process, summed)."""

    def __init__(self, sid: int, interval: float = 0.05):
        super().__init__(daemon=True)
        self.sid, self.interval = sid, interval
        self.peak_rss, self.cpu = 0, {}  # bytes; pid -> seconds
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            total = 0
            for pid in os.listdir("/proc"):
                if not pid.isdigit():
                    continue
                try:
                    with open(f"/proc/{pid}/stat") as fh:
                        stat = fh.read().rsplit(")", 1)[1].split()
                    if int(stat[3]) != self.sid:  # field 6: session id
                        continue
                    with open(f"/proc/{pid}/statm") as fh:
                        total += int(fh.read().split()[1]) * _PAGE
                except (OSError, IndexError, ValueError):
                    continue
                self.cpu[pid] = (int(stat[11]) + int(stat[12])) / _TICK  # fields 14, 15: utime, stime
            self.peak_rss = max(self.peak_rss, total)
            self.done.wait(self.interval)


def run_child(cmd: list[str], timeout: float | None = None) -> tuple[float, float, float, TreeSampler, str, str]:
    """Run ``cmd`` in a new session; (wall s, cpu s, peak RSS MB, tree sampler, stdout, stderr).

    CPU and peak RSS from ``os.wait4`` cover the child and the descendants it waited for
    (not forkserver pool workers); the sampler covers the whole process tree.  After
    ``timeout`` seconds the child's session is killed and :class:`TimeoutError` raised."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, cwd=HERE.parent, start_new_session=True)
        sampler = TreeSampler(proc.pid)
        sampler.start()
        timer = threading.Timer(timeout, os.killpg, (proc.pid, signal.SIGKILL)) if timeout else None
        if timer:
            timer.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        if timer:
            timer.cancel()
        sampler.done.set()
        sampler.join()
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0), err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if timeout and proc.returncode == -signal.SIGKILL and wall >= timeout:
        raise TimeoutError(f"{' '.join(cmd)}: killed after {timeout:.0f} s")
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}: {stderr.strip()[-2000:]}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, sampler, stdout, stderr


def measure(name: str, cmd: list[str], n: int, note: str = "", timeout: float | None = None) -> Measure:
    print(f"  {name} ...", file=sys.stderr, flush=True)
    wall, cpu, rss, tree, stdout, stderr = run_child(cmd, timeout)
    m = Measure(name, round(wall, 2), round(cpu, 2), round(rss, 1), round(tree.peak_rss / 2**20, 1),
                round(max(cpu, sum(tree.cpu.values())), 2), note=note, records_per_s=round(n / wall, 1))
    found = _TRIPLES.search(stderr)
    if found:
        m.triples = int(found.group(1))
    if stdout.strip().startswith("{"):
        m.extra = json.loads(stdout.strip().splitlines()[-1])
        m.triples = m.extra.pop("triples", m.triples)
    return m


def corpus(n: int, seed: int) -> Path:
    """``benchmarks/corpus/N``, generated unless a complete one with this seed is there."""
    folder = CORPORA / str(n)
    done = folder / ".complete"
    if not (done.is_file() and done.read_text() == str(seed)):
        sys.path.insert(0, str(HERE))
        from generate import generate

        print(f"generating {n} records into {folder} ...", file=sys.stderr, flush=True)
        done.unlink(missing_ok=True)
        generate(n, folder, seed)
        done.write_text(str(seed))
    return folder


def bench_size(n: int, jobs: int, naive_cap: int, seed: int, query_timeout: float,
               store_only: bool = False) -> list[Measure]:
    src = corpus(n, seed)
    work = CORPORA / f"work-{n}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    j = ["--jobs", str(jobs), "-q"]
    if store_only:  # what the store's ratios need, without the file-format and floor rows
        results = [
            measure(f"kg build nt -j{jobs}", KG + ["build", str(src), "-o", str(work / "g.nt"), "--format", "nt"] + j, n),
            measure(f"kg build --store -j{jobs}", KG + ["build", str(src), "--store", str(work / "store")] + j, n),
        ]
    else:
        results = _file_rows(src, work, n, jobs, j)
    return _store_rows(results, src, work, n, jobs, j, naive_cap, query_timeout, store_only)


def _file_rows(src: Path, work: Path, n: int, jobs: int, j: list[str]) -> list[Measure]:
    results = [
        measure("floor: read+YAML+TSV", BASE + ["floor", str(src)], n),
        measure(f"kg build turtle -j{jobs}", KG + ["build", str(src), "-o", str(work / "g.ttl")] + j, n),
        measure("kg build turtle -j1", KG + ["build", str(src), "-o", str(work / "g1.ttl"), "--jobs", "1", "-q"], n),
        measure(f"kg build nt -j{jobs}", KG + ["build", str(src), "-o", str(work / "g.nt"), "--format", "nt"] + j, n),
        measure(f"kg build nt shards -j{jobs}", KG + ["build", str(src), "-o", str(work / "shards"), "--format", "nt",
                                                     "--split-lines", "1000000"] + j, n),
        measure(f"kg build --store -j{jobs}", KG + ["build", str(src), "--store", str(work / "store")] + j, n),
    ]
    results[4].note = f"{len(list((work / 'shards').iterdir()))} shard(s)"
    return results


def _store_rows(results: list[Measure], src: Path, work: Path, n: int, jobs: int, j: list[str], naive_cap: int,
                query_timeout: float, store_only: bool) -> list[Measure]:
    nt = next(m for m in results if m.name.startswith("kg build nt -j"))
    bulk = measure("oxigraph bulk_load nt", BASE + ["bulk", str(work / "g.nt"), str(work / "bulk-store")], n)
    bulk.triples = nt.triples
    results.append(bulk)
    results.append(measure("kg load nt (new store)", KG + ["load", str(work / "g.nt"), "--store",
                                                           str(work / "load-store")], n))
    results[-1].triples = bulk.triples
    results[-1].note = "named graph + default graph: loads the file twice"
    # updates of the store built above: 1% of the records edited, then every record
    changed = work / "records"
    shutil.copytree(src, changed, ignore=shutil.ignore_patterns(".complete"))
    names = sorted((changed / "_figures").glob("*.md"))
    for share, label in ((0.01, "1%"), (1.0, "all")):
        step = max(1, round(1 / share))
        for path in names[::step]:
            text = path.read_text(encoding="utf-8")
            path.write_text(text.replace("\nfigtitle: ", f"\nfigtitle: Edited {label} ", 1), encoding="utf-8")
        m = measure(f"store update {label} -j{jobs}", KG + ["build", str(changed), "--store", str(work / "store")] + j, n)
        m.note = f"{len(names[::step])} records edited"
        results.append(m)
    if store_only:
        pass
    elif n <= naive_cap:
        results.append(measure("naive rdflib Graph+turtle", BASE + ["naive", str(src), str(work / "naive.ttl")], n))
    else:
        results.append(Measure("naive rdflib Graph+turtle", note="capped"))
    try:
        import kg.query  # noqa: F401
    except ImportError:
        results.append(Measure("query library on store", note="skipped: no kg.query"))
    else:
        results.append(query_pass(work / "store", src, query_timeout))
    shutil.rmtree(work, ignore_errors=True)
    return results


def query_pass(store: Path, src: Path, timeout: float) -> Measure:
    """Every library query, each in its own child (killed after ``timeout`` s); wall and CPU
    summed, RSS the largest."""
    from kg.query import list_queries

    per: dict[str, Any] = {}
    done: list[Measure] = []
    for q in list_queries():
        try:
            m = measure(f"query {q.name}", BASE + ["queries", str(store), str(src), q.name], 1, timeout=timeout)
        except TimeoutError:
            per[q.name] = {"seconds": None, "rows": f"timeout > {timeout:.0f} s"}
            continue
        done.append(m)
        per[q.name] = {"wall": m.wall, **m.extra["queries"][q.name]}
    timed = sorted(((k, v["seconds"]) for k, v in per.items() if v["seconds"] is not None), key=lambda kv: -kv[1])
    late = [k for k, v in per.items() if v["seconds"] is None]
    note = (f"{len(per)} queries; slowest: " + ", ".join(f"{k} {s:.2f}s" for k, s in timed[:3])
            + (f"; TIMEOUT: {', '.join(late)}" if late else ""))
    return Measure("query library on store", wall=round(sum(m.wall or 0 for m in done), 2),
                   cpu=round(sum(m.cpu or 0 for m in done), 2), rss_mb=max((m.rss_mb or 0 for m in done), default=None),
                   tree_rss_mb=max((m.tree_rss_mb or 0 for m in done), default=None),
                   tree_cpu=round(sum(m.tree_cpu or 0 for m in done), 2), note=note, extra={"queries": per})


def query_table(runs: dict[int, list[Measure]]) -> str:
    """One row per library query, a column per size: ``wall s (query s)``."""
    per = {n: next((m.extra.get("queries", {}) for m in ms if m.name == "query library on store"), {})
           for n, ms in runs.items()}
    names = sorted({q for found in per.values() for q in found})
    if not names:
        return ""
    head = f"{'library query':<26}" + "".join(f"{f'N={n}':>20}" for n in per)
    lines = [head, "-" * len(head)]
    for name in names:
        cells = []
        for n in per:
            got = per[n].get(name, {})
            if got.get("seconds") is None or not isinstance(got.get("rows"), int):
                cells.append(f"{str(got.get('rows', ''))[:18]:>20}")
            else:
                cells.append(f"{got['wall']:>10.2f} ({got['seconds']:.2f})".rjust(20))
        lines.append(f"{name:<26}" + "".join(cells))
    return "\n".join(lines)


def machine() -> dict[str, Any]:
    import yaml

    def version(pkg: str) -> str:
        try:
            return metadata.version(pkg)
        except metadata.PackageNotFoundError:
            return "absent"

    return {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
            "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
            "loadavg_at_start": os.getloadavg(), "pyyaml_c_loader": hasattr(yaml, "CSafeLoader"),
            **{pkg: version(pkg) for pkg in ("kg", "pyoxigraph", "rdflib", "PyYAML")}}


def ratios(runs: dict[int, list[Measure]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for n, ms in runs.items():
        by = {m.name: m for m in ms}
        store = next(m for m in ms if m.name.startswith("kg build --store"))
        r = {}
        if "floor: read+YAML+TSV" in by:
            build = next(m for m in ms if m.name.startswith("kg build turtle -j") and not m.name.endswith("-j1"))
            floor, naive = by["floor: read+YAML+TSV"], by["naive rdflib Graph+turtle"]
            r = {"build/floor": _div(build.wall, floor.wall),
                 "build -j1/floor": _div(by["kg build turtle -j1"].wall, floor.wall),
                 "naive/build": _div(naive.wall, build.wall)}
        r |= {"store/bulk_load": _div(store.wall, by["oxigraph bulk_load nt"].wall),
             "kg load/bulk_load": _div(by["kg load nt (new store)"].wall, by["oxigraph bulk_load nt"].wall)}
        nt = next(m for m in ms if m.name.startswith("kg build nt -j"))
        load, bulk = by["kg load nt (new store)"], by["oxigraph bulk_load nt"]
        r["store/(build nt + kg load)"] = _div(store.wall, _add(nt.wall, load.wall))
        r["store/(build nt + bulk_load)"] = _div(store.wall, _add(nt.wall, bulk.wall))
        r["store rss/kg load rss"] = _div(store.tree_rss_mb, load.tree_rss_mb)
        r["store rss/bulk_load rss"] = _div(store.tree_rss_mb, bulk.tree_rss_mb)
        for label in ("1%", "all"):
            update = next((m for m in ms if m.name.startswith(f"store update {label} ")), None)
            if update is not None:
                r[f"update {label}/store"] = _div(update.wall, store.wall)
                r[f"update {label} rss/store rss"] = _div(update.tree_rss_mb, store.tree_rss_mb)
        out[str(n)] = r
    if 10_000 in runs and 100_000 in runs:
        small = {m.name: m for m in runs[10_000]}
        out["rss(100k)/rss(10k)"] = {m.name: _div(m.rss_mb, small[m.name].rss_mb) for m in runs[100_000]
                                     if m.name in small}
        out["tree rss(100k)/rss(10k)"] = {m.name: _div(m.tree_rss_mb, small[m.name].tree_rss_mb)
                                          for m in runs[100_000] if m.name in small}
    return out


def _add(a: float | None, b: float | None) -> float | None:
    return a + b if a is not None and b is not None else None


def _div(a: float | None, b: float | None) -> float | None:
    return round(a / b, 2) if a and b else None


def table(runs: dict[int, list[Measure]]) -> str:
    head = (f"{'N':>7}  {'measurement':<28} {'wall s':>8} {'cpu s':>8} {'rec/s':>8} {'RSS MB':>7} {'tree MB':>8} "
            f"{'triples':>10}  note")
    lines = [head, "-" * len(head)]

    def fmt(v: float | None, spec: str) -> str:
        return "" if v is None else format(v, spec)

    for n, ms in runs.items():
        for m in ms:
            lines.append(f"{n:>7}  {m.name:<28} {fmt(m.wall, '.2f'):>8} {fmt(m.tree_cpu, '.2f'):>8} "
                         f"{fmt(m.records_per_s, '.0f'):>8} {fmt(m.rss_mb, '.0f'):>7} {fmt(m.tree_rss_mb, '.0f'):>8} "
                         f"{fmt(m.triples, 'd'):>10}  {m.note}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--naive-cap", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--query-timeout", type=float, default=300.0, help="seconds per library query")
    parser.add_argument("--json", type=Path, default=HERE / "results.json")
    parser.add_argument("--query-store", metavar="N=STORE", nargs="+", default=[],
                        help="only time the query library on these stores (built from benchmarks/corpus/N)")
    parser.add_argument("--store-only", action="store_true",
                        help="only what the store's ratios need: build nt, build --store, bulk_load, kg load, "
                             "updates, queries")
    args = parser.parse_args()
    info = machine()
    if args.query_store:
        runs = {}
        for spec in args.query_store:
            n, _, store = spec.partition("=")
            runs[int(n)] = [query_pass(Path(store), corpus(int(n), args.seed), args.query_timeout)]
    else:
        runs = {n: bench_size(n, args.jobs, args.naive_cap, args.seed, args.query_timeout, args.store_only)
                for n in args.sizes}
    info["loadavg_at_end"] = os.getloadavg()
    print(table(runs))
    print(query_table(runs))
    rat = ratios(runs) if not args.query_store else {}
    for key, value in rat.items():
        print(f"{key}: " + ", ".join(f"{k} {v}" for k, v in value.items()))
    print("machine: " + ", ".join(f"{k}={v}" for k, v in info.items()))
    args.json.write_text(json.dumps({"machine": info, "jobs": args.jobs, "seed": args.seed,
                                     "runs": {str(n): [asdict(m) for m in ms] for n, ms in runs.items()},
                                     "ratios": rat}, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
