"""The build pipeline: sources -> records -> figure graphs -> a file and/or a store.

:func:`convert` yields one :class:`~kg.mapping.FigureGraph` per good record, in figid
order, reading and mapping in ``jobs`` worker processes; bad records are passed to a
callback and never stop the others.  :func:`build` is what ``kg build`` runs.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import sys
import time
import types
from bisect import bisect_left
from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

from . import formats, vocab
from .errors import KgError
from .mapping import FigureGraph, map_record
from .outputs import OutputError, is_special, is_stdout, open_output
from .records import RecordError, RecordSource, RecordSources, discover, read_record
from .sinks import Sink, output_sink

RejectHandler = Callable[[RecordError], None]
WarningHandler = Callable[[RecordError], None]


@dataclass
class BuildReport:
    """What a build did; ``str()`` is the one-line summary ``kg build`` prints."""

    records_read: int = 0
    converted: int = 0
    rejected: int = 0
    triples: int = 0
    quads: int = 0
    seconds: float = 0.0
    rejects: list[dict] = field(default_factory=list)
    output: str | None = None
    store: str | None = None
    endpoint: str | None = None
    pushed: int = 0  # distinct triples sent to ``endpoint``
    figures_unchanged: int = 0
    warnings: int = 0  # row-level problems: reported in ``rejects`` (level "warning"), the figures converted

    @property
    def exit_status(self) -> int:
        """0 when every record converted, 1 when some were rejected."""
        return 1 if self.rejected else 0

    def __str__(self) -> str:
        rate = self.records_read / self.seconds if self.seconds else 0.0
        written = []
        if self.output:
            written.append(f"{self.triples} triples written to {self.output}")
        if self.store:
            written.append(f"{self.quads} quads written to store {self.store}")
        if self.endpoint:
            written.append(f"{self.pushed} triples sent to {self.endpoint}")
        unchanged = f" ({self.figures_unchanged} unchanged)" if self.figures_unchanged else ""
        warned = f", {self.warnings} warning{'s' if self.warnings != 1 else ''}" if self.warnings else ""
        return (f"{self.records_read} records read, {self.converted} converted{unchanged}, {self.rejected} rejected{warned}, "
                f"{', '.join(written)} in {self.seconds:.2f} s "
                f"({rate:.0f} records/s)")


def convert_one(source: RecordSource, prepare: Callable[[FigureGraph], Any] | None = None) -> Any:
    """Read and map one record, then ``prepare`` it for its writer (runs in worker processes);
    a :class:`RecordError` is returned, not raised."""
    try:
        figure = map_record(read_record(source))
        return prepare(figure) if prepare is not None else figure
    except RecordError as exc:
        return exc
    except Exception as exc:  # noqa: BLE001 - one bad record must never stop the build
        return RecordError(source.path, f"kg failed on this record ({type(exc).__name__}: {exc}); "
                           "this is a bug in kg, please report it with the record")


def default_jobs() -> int:
    return os.cpu_count() or 1


def convert(sources: Sequence[RecordSource], jobs: int = 1, on_reject: RejectHandler | None = None,
            on_record: Callable[[], None] | None = None,
            skip: Callable[[RecordSource], tuple | None] | None = None,
            prepare: Callable[[FigureGraph], Any] | None = None,
            on_warning: WarningHandler | None = None,
            unskip: Callable[[str], None] | None = None) -> Iterator[Any]:
    """Figure graphs of ``sources`` in order; rejects (bad records, duplicate figids) go to
    ``on_reject``, the row-level warnings of each figure yielded to ``on_warning`` (just
    before it is yielded).  ``jobs > 1`` reads and maps in that many processes, same output.
    ``prepare`` (picklable) runs on each figure where it was mapped; its result is yielded
    instead (it must keep ``figid``, ``figure``, ``source`` and ``warnings``).

    ``skip(source)`` returns ``(figid, figure IRI[, warnings])`` for a record a sink already
    holds unchanged: it is not read, but claims its figid and IRI in order like the others
    (and its warnings, as its last build found them, go to ``on_warning``); if it turns out
    to be a duplicate of an earlier record, it is rejected and ``unskip(figid)`` is called."""
    claims = FigidClaims(sources)
    order: deque[tuple[int, tuple[str, str] | None]] = deque()  # records in flight, in order

    def todo() -> Iterator[RecordSource]:
        for index, source in enumerate(sources):
            held = skip(source) if skip else None
            order.append((index, held))
            if held is None:
                yield source

    def claim_skipped() -> None:
        while order and order[0][1] is not None:
            index, held = order.popleft()
            figid, iri = held[0], held[1]  # type: ignore[index]
            if on_record:
                on_record()
            error = _claim(claims, sources, figid, iri, index, sources[index].path)
            if error is not None:
                if unskip:
                    unskip(figid)
                if on_reject:
                    on_reject(error)
            elif on_warning:
                for item in held[2] if len(held) > 2 else ():  # type: ignore[arg-type]
                    on_warning(item)

    if jobs > 1 and len(sources) > BATCH:
        results: Iterable[Any] = _in_workers(todo(), min(jobs, -(-len(sources) // BATCH)), prepare)
    else:
        results = (convert_one(source, prepare) for source in todo())
    for result in results:
        claim_skipped()
        index, _ = order.popleft()
        if on_record:
            on_record()
        if isinstance(result, RecordError):
            if on_reject:
                on_reject(result)
            continue
        error = _claim(claims, sources, result.figid, result.figure, index, result.source)
        if error is not None:
            if on_reject:
                on_reject(error)
            continue
        if on_warning:
            for item in getattr(result, "warnings", ()):
                on_warning(item)
        yield result
    claim_skipped()


def _claim(claims: FigidClaims, sources: Sequence[RecordSource], figid: str, figure: str, index: int,
           where: Any) -> RecordError | None:
    """Record ``index`` claims ``figid`` and the figure IRI ``figure``: the rejection if an
    earlier record claimed either."""
    earlier = claims.claim(figid, index)
    if earlier is not None:
        return RecordError(where, f"duplicate figid {figid!r}, already read from "
                           f"{sources[earlier].path}; this record is skipped", None, "figid")
    earlier = claims.claim_iri(figure, figid, index)
    if earlier is not None:
        return RecordError(where, f"duplicate figure IRI <{figure}> (JSON-LD @id): "
                           f"{sources[earlier].path} already describes that figure; this record is skipped",
                           None, "schema-jsonld")
    return None


class FigidClaims:
    """Which record (by index in ``sources``) first claimed each figid, in little memory.

    PFOCR names each record ``<figid>.md``, so a record whose figid is its file stem is
    only flagged in a byte array; its figid is found again by binary search in the sorted
    file names of :class:`~kg.records.RecordSources`.  Only records named otherwise (or
    sources given as a plain list) keep their figid in a dict."""

    def __init__(self, sources: Sequence[RecordSource]):
        self.names = sources.names if isinstance(sources, RecordSources) else None
        self.named_by_figid = bytearray(len(sources))  # 1: record i claimed the figid its name gives
        self.by_figid: dict[str, int] = {}
        self.by_iri: dict[str, int] = {}  # figure IRIs other than the figid's own page

    def claim(self, figid: str, index: int) -> int | None:
        """Record ``index`` claims ``figid``: the index of an earlier claimant, else None."""
        earlier = self.claimant(figid, index)
        if earlier is None:
            if self.names is not None and self.names[index] == figid + ".md":
                self.named_by_figid[index] = 1
            else:
                self.by_figid[figid] = index
        return earlier

    def claimant(self, figid: str, before: int) -> int | None:
        """The record (index below ``before``) that claimed ``figid``, if any."""
        if figid in self.by_figid:
            return self.by_figid[figid]
        if self.names is None:
            return None
        name = figid + ".md"
        j = bisect_left(self.names, name)
        while j < before and self.names[j] == name:
            if self.named_by_figid[j]:
                return j
            j += 1
        return None

    def claim_iri(self, figure: str, figid: str, index: int) -> int | None:
        """Record ``index`` (which claimed ``figid``) says its figure is ``figure``: the index
        of an earlier record describing that figure IRI, else None.  Only IRIs other than
        ``figid``'s own PFOCR page are kept (real records always use that page)."""
        if figure in self.by_iri:
            return self.by_iri[figure]
        if figure == vocab.figure_iri(figid):
            return None
        named = vocab.figid_of_figure_iri(figure)
        earlier = self.claimant(named, index) if named is not None and named != figid else None
        if earlier is None:
            self.by_iri[figure] = index
        return earlier


#: Records per message to and from a worker process.
BATCH = 32


def _in_workers(todo: Iterable[RecordSource], jobs: int, prepare: Callable[[FigureGraph], Any] | None,
                ahead: int = 2) -> Iterator[Any]:
    """``convert_one`` over ``todo`` in ``jobs`` processes, results in input order.

    Batch ``i`` goes to worker ``i % jobs``, which keeps at most ``ahead`` batches queued,
    so results are read back round-robin (deterministic order, bounded memory) without a
    pool's bookkeeping threads competing with the workers for the CPU."""
    context = multiprocessing.get_context("forkserver" if sys.platform != "win32" else "spawn")
    pending = iter(todo)
    batches = iter(lambda: list(islice(pending, BATCH)), [])
    workers = []
    try:
        for _ in range(jobs):
            task_out, task_in = context.Pipe(duplex=False)
            result_out, result_in = context.Pipe(duplex=False)
            process = context.Process(target=_worker, args=(task_out, result_in, prepare), daemon=True)
            with _main_module_hidden():
                process.start()
            task_out.close(), result_in.close()
            workers.append((process, task_in, result_out))
        queued = [0] * jobs  # batches sent to each worker and not yet read back
        for i in range(jobs * ahead):
            batch = next(batches, None)
            if batch is None:
                break
            workers[i % jobs][1].send(batch)
            queued[i % jobs] += 1
        turn = 0
        while queued[turn]:
            process, tasks, results = workers[turn]
            try:
                done = results.recv()
            except EOFError:
                process.join(timeout=5)
                raise RuntimeError(f"worker process {process.pid} died (exit code {process.exitcode})") from None
            queued[turn] -= 1
            batch = next(batches, None)
            if batch is not None:  # batch number i + jobs * ahead: this worker's turn again
                tasks.send(batch)
                queued[turn] += 1
            yield from done
            turn = (turn + 1) % jobs
        for _, tasks, _ in workers:
            tasks.send(None)
    finally:
        for process, tasks, results in workers:
            tasks.close(), results.close()
            process.join(timeout=5)
            if process.is_alive():
                process.terminate()
                process.join()


@contextmanager
def _main_module_hidden() -> Iterator[None]:
    """Start worker processes without the user's main module: ``forkserver`` and ``spawn``
    would import it again in each worker (running a script's ``kg.build(...)`` a second time
    when it has no ``if __name__ == "__main__":`` guard, and failing under ``python -``).
    The workers only need kg; they get an empty ``__main__`` instead."""
    main = sys.modules.get("__main__")
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        if main is not None:
            sys.modules["__main__"] = main


def _worker(tasks, results, prepare: Callable[[FigureGraph], Any] | None) -> None:
    """A worker process: convert batches of sources until told to stop (``None``), or until
    the main process goes away or is interrupted (then quietly: it reports the failure)."""
    try:
        while (batch := tasks.recv()) is not None:
            results.send([convert_one(source, prepare) for source in batch])
    except (EOFError, BrokenPipeError, KeyboardInterrupt):
        pass


class Progress:
    """A tqdm bar on stderr when it is a terminal (and not ``quiet``); silent otherwise."""

    def __init__(self, total: int, quiet: bool = False):
        self.bar = None
        if not quiet and sys.stderr.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="rec", file=sys.stderr, dynamic_ncols=True, smoothing=0.05)

    def step(self) -> None:
        if self.bar is not None:
            self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def build(sources: Iterable[str | Path], output: str | Path | None = None, *, format: str | None = None,
          rejects: str | Path | None = None, store: str | Path | None = None, endpoint: str | None = None,
          graph: str | None = None, replace: bool = False, timeout: float = 120.0,
          jobs: int = 1, shard_lines: int | None = None, void: bool = False, quiet: bool = True,
          incremental: bool = True, log: Callable[[str], None] | None = None) -> BuildReport:
    """Build the knowledge graph of the records in ``sources``.

    Writes ``output`` (a file; ``-`` for standard output; with ``shard_lines`` a folder of
    gzipped shards) in ``format`` (turtle, nt, nq, jsonld; by default what the output's
    extension says, else Turtle) and/or builds straight into the Oxigraph ``store`` folder
    (``incremental``: unchanged records are skipped) and/or sends it to the Graph Store
    ``endpoint`` once every record is mapped (into ``graph``; ``replace``: replacing what it
    held; ``timeout``: per request, see :func:`kg.remote.push`).  ``rejects`` receives one JSON line per
    rejected record (``"level": "error"``) and per row-level warning (``"level": "warning"``:
    a table row or value left out, the figure still converted); ``log`` each as text.  Raises FileNotFoundError for a missing
    source, :class:`~kg.errors.KgError` for a source with no records or an output kg must
    not write, and ValueError for bad options.
    """
    if output is None and store is None and endpoint is None:
        raise ValueError("give an output file, a store, an endpoint, or several")
    if void and (output is None or is_stdout(output)):
        raise ValueError("--void describes an output file: give -o FILE too")
    fmt = output_format(output, format, shard_lines)
    started = time.perf_counter()
    found = discover(sources)
    if not len(found):
        raise NoRecordsError(_nothing_found(sources))
    for path in (output, rejects, void_path(output) if void and output is not None else None):
        if path is not None:
            refuse_input(path, found)
    if output is not None and rejects is not None and not is_stdout(output) \
            and os.path.realpath(output) == os.path.realpath(rejects):
        raise OutputError(f"-o and --rejects name the same file: {output}")
    report = BuildReport(records_read=len(found), output=str(output) if output else None,
                         store=str(store) if store else None, endpoint=endpoint)
    progress = Progress(len(found), quiet)

    def on_reject(error: RecordError) -> None:
        report.rejected += 1
        report.rejects.append(error.as_dict())
        if log:
            log(f"rejected {error}")

    def on_warning(item: RecordError) -> None:
        report.warnings += 1
        report.rejects.append(item.as_dict())
        if log:
            log(f"warning {item}")

    def counted(figures: Iterable[FigureGraph]) -> Iterator[FigureGraph]:
        for figure in figures:
            report.converted += 1
            yield figure

    sinks: list[Sink] = []
    try:
        if output is not None:
            sinks.append(output_sink(output, fmt, shard_lines))
        if store is not None:
            from .sinks.store import StoreSink

            sinks.append(StoreSink(store, incremental=incremental))
        holder = sinks[-1] if store is not None else None
        if endpoint is not None:
            from .sinks.remote import RemoteSink

            sinks.append(RemoteSink(endpoint, graph=graph, replace=replace, timeout=timeout))
    except BaseException:
        for sink in sinks:
            sink.abort()
        raise
    try:
        skip = holder.skip if holder is not None and len(sinks) == 1 else None
        unskip = holder.unskip if skip is not None else None  # type: ignore[union-attr]
        figures = convert(found, jobs, on_reject, progress.step, skip=skip, prepare=_prepare(sinks),
                          on_warning=on_warning, unskip=unskip)
        stats = run_sinks(counted(figures), sinks)
    finally:
        progress.close()
    if output is not None:
        report.triples = stats[0].statements
    if holder is not None:
        held = stats[sinks.index(holder)]
        report.quads, report.figures_unchanged = held.statements, held.unchanged
    if endpoint is not None:
        report.pushed = stats[-1].statements
    report.converted += report.figures_unchanged
    report.seconds = time.perf_counter() - started
    if rejects is not None:
        with open_output(rejects, "w") as fh:
            for item in report.rejects:
                fh.write(json.dumps(item, ensure_ascii=False) + "\n")
    if void and output is not None:
        from .void import write_void

        write_void(void_path(output), report, found, output)
    return report


class NoRecordsError(KgError):
    """The sources hold no record files."""


def output_format(output: str | Path | None, format: str | None, shard_lines: int | None) -> str:
    """The format to write: ``format`` if given, else N-Triples for shards, else what the
    output's extension says (Turtle when it says none)."""
    if format is not None:
        return formats.format_name(format)
    if shard_lines is not None:
        return "nt"
    return formats.format_for_path(output) if output is not None and not is_stdout(output) else "turtle"


def _prepare(sinks: Sequence[Sink]) -> Callable[[FigureGraph], Any] | None:
    """What the workers prepare figures as: the sink's preparation, or every sink's (a
    :class:`Prepared` holding one part per sink)."""
    if len(sinks) == 1:
        return sinks[0].prepare
    return Fanout([sink.prepare for sink in sinks])


@dataclass
class Prepared:
    """A figure prepared for several sinks: ``parts[i]`` goes to sink ``i``."""

    figid: str
    figure: str
    source: str
    parts: list[Any]
    warnings: list = field(default_factory=list)


class Fanout:
    """Prepares a figure for several sinks at once (in the workers: the figure is mapped once)."""

    def __init__(self, prepares: Sequence[Callable[[FigureGraph], Any] | None]):
        self.prepares = list(prepares)

    def __call__(self, figure: FigureGraph) -> Prepared:
        return Prepared(figure.figid, figure.figure, figure.source,
                        [figure if p is None else p(figure) for p in self.prepares], figure.warnings)


def run_sinks(figures: Iterable[Any], sinks: Sequence[Sink]) -> list:
    """Hand every figure to every sink (its part of a :class:`Prepared`), then close them;
    on any error abort them all (a sink already closed stays as it is)."""
    closed = 0
    try:
        for figure in figures:
            if isinstance(figure, Prepared):
                for sink, part in zip(sinks, figure.parts):
                    sink.write(part)
            else:
                for sink in sinks:
                    sink.write(figure)
        stats = []
        for sink in sinks:
            stats.append(sink.close())
            closed += 1
        return stats
    except BaseException:
        for sink in sinks[closed:]:
            sink.abort()
        raise


def refuse_input(path: str | Path, found: RecordSources) -> None:
    """:class:`OutputError` if ``path`` (after links) is one of the records or companion
    tables being read: kg never overwrites its input."""
    if is_stdout(path) or is_special(path):
        return
    real = Path(os.path.realpath(path))
    for folder, data_dir in found.folders:
        if real.parent == Path(os.path.realpath(folder)) and real.name.endswith(".md") and real.exists():
            index = bisect_left(found.names, real.name)
            if index < len(found.names) and found.names[index] == real.name:
                raise OutputError(f"refusing to write {path}: it is an input record")
        if data_dir is not None and real.parent == Path(os.path.realpath(data_dir)) and real.exists():
            raise OutputError(f"refusing to write {path}: it is in the records' _data folder (an input table)")
        if real == Path(os.path.realpath(folder)) or (data_dir is not None and real == Path(os.path.realpath(data_dir))):
            raise OutputError(f"refusing to write {path}: it is an input folder")


def _nothing_found(sources: Iterable[str | Path]) -> str:
    searched = ", ".join(str(s) for s in sources)
    hints = sorted(str(p.parent) for s in sources if Path(s).is_dir() for p in Path(s).glob("*/_figures"))
    hint = f" (records found one level down: {', '.join(hints[:3])})" if hints else ""
    return (f"no records in {searched}: expected .md record files, a folder of them, or a folder holding "
            f"_figures/{hint}")


def void_path(output: str | Path) -> Path:
    """Where the VoID/DCAT description of ``output`` goes: ``<output>.void.ttl``."""
    return Path(f"{output}.void.ttl")
