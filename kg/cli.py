"""The ``kg`` command: a thin layer over the Python API; each command is one call.

===========  ====================================  ==================================
command      API function                          reads / writes
===========  ====================================  ==================================
build        :func:`kg.pipeline.build`             records -> ``-o FILE``, ``--store``
validate     :func:`kg.validate.validate`          an RDF file
load         :func:`kg.store.load`                 dumps -> ``--store``
query        :func:`kg.query.run_query`            ``--store`` or ``--endpoint`` -> ``-o``
push         :func:`kg.remote.push`                ``DUMP`` or ``--store`` -> endpoint
serve        :func:`kg.server.serve`               ``--store``
network      :func:`kg.network.export_network`     ``DUMP`` or ``--store`` -> ``-o FILE``
stats        :func:`kg.network.stats`              ``DUMP`` or ``--store``
export gmt   :func:`kg.export.gmt.export_gmt`      ``--store`` -> ``-o FILE.gmt|DIR/``
export kgx   :func:`kg.export.kgx.export_kgx`      ``--store`` -> ``-o DIR``
===========  ====================================  ==================================

Conventions: a command that reads a store takes ``--store DIR`` (default ``kg-store``); one
that can also read an RDF dump takes it as its positional argument instead (not both);
``-o FILE`` names what a command writes, ``-`` being standard output.

Exit status: 0 success, 1 when some records were rejected or a check failed, 2 on usage
errors and on errors that stop a command (missing file, unreachable endpoint...).
Errors are one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Callable, Sequence

from . import __version__
from .store import DEFAULT_STORE

USAGE_ERROR = 2


class CommandError(Exception):
    """An error a command reports as one line with exit status 2."""


class _Default(str):
    """An option's default, told apart from the same text given on the command line."""


def _err(message: str) -> None:
    print(f"kg: {message}", file=sys.stderr)


def _params(items: Sequence[str] | None) -> dict[str, list[str]]:
    """``NAME=VALUE`` items as ``{name: [values...]}``: a repeated name keeps every value."""
    params: dict[str, list[str]] = {}
    for item in items or []:
        name, sep, val = item.partition("=")
        name = name.strip().lstrip("?$")
        if not sep or not name:
            raise CommandError(f"--param takes NAME=VALUE, got {item!r}")
        params.setdefault(name, []).append(val)
    return params


def _source(args: argparse.Namespace) -> str:
    """What a reading command reads: its ``DUMP`` argument or ``--store DIR``, not both."""
    if args.dump is None:
        return str(args.store)
    if not isinstance(args.store, _Default):
        raise CommandError(f"give an RDF dump or --store DIR, not both (got {args.dump} and --store {args.store})")
    if Path(args.dump).is_dir():
        raise CommandError(f"{args.dump} is a folder: read a store with --store {args.dump} "
                           f"(the positional argument is an RDF dump)")
    return args.dump


def _refuse_input(output: str, *inputs: str | None) -> None:
    """Refuse an ``-o`` that names one of the command's inputs."""
    if output == "-":
        return
    for path in inputs:
        if path is not None and os.path.exists(path) and os.path.realpath(output) == os.path.realpath(path):
            raise CommandError(f"refusing to write {output}: it is an input of this command")


# --------------------------------------------------------------------------- commands


def cmd_build(args: argparse.Namespace) -> int:
    from .pipeline import build

    if args.output is None and args.store is None and args.endpoint is None:
        raise CommandError("give -o OUT, --store DIR, --endpoint URL, or several")
    for name in ("graph", "replace"):
        if getattr(args, name) and args.endpoint is None:
            raise CommandError(f"--{name} goes with --endpoint (kg load --graph puts a file in a store's named graph)")
    report = build(args.sources, args.output, format=args.format, rejects=args.rejects, store=args.store,
                   endpoint=args.endpoint, graph=args.graph, replace=args.replace, timeout=args.timeout, jobs=args.jobs,
                   shard_lines=args.split_lines, void=args.void, quiet=args.quiet,
                   incremental=not args.full, log=lambda line: print(line, file=sys.stderr))
    print(report, file=sys.stderr)
    return report.exit_status


def cmd_validate(args: argparse.Namespace) -> int:
    from .validate import validate

    result = validate(args.file)
    print(result.text())
    return 0 if result.conforms else 1


def cmd_load(args: argparse.Namespace) -> int:
    from .store import load

    report = load(args.dumps, str(args.store), graph=args.graph, replace=args.replace)
    print(report, file=sys.stderr)
    return 0


def cmd_query(args: argparse.Namespace) -> int:
    from .outputs import open_output
    from .query import examples_turtle, format_results, list_queries, run_query

    if args.format == "ttl" and not args.list:
        raise CommandError("--format ttl describes the query library as SPARQL examples: use it with --list")
    if args.list:
        with open_output(args.output, "w") as fh:
            if args.format == "ttl":
                fh.write(examples_turtle())
                return 0
            for q in list_queries():
                params = " ".join(f"{p}=" for p in q.params)
                fh.write(f"{q.name:<28} {q.description}" + (f"  [{params}]" if params else "") + "\n")
        return 0
    if args.query is None:
        raise CommandError("give a query: a .rq file, inline SPARQL, or a name from --list")
    _refuse_input(args.output, args.query if "\n" not in args.query else None)
    result = run_query(args.query, store=None if args.endpoint else str(args.store), endpoint=args.endpoint,
                       params=_params(args.param), timeout=args.timeout)
    text = format_results(result, args.format)
    with open_output(args.output, "w") as fh:
        fh.write(text)
    return 0


def cmd_push(args: argparse.Namespace) -> int:
    from .remote import push

    report = push(_source(args), args.endpoint, graph=args.graph, update_endpoint=args.update_endpoint,
                  chunk_triples=args.chunk_triples, replace=args.replace, timeout=args.timeout,
                  query_endpoint=args.query_endpoint)
    print(report, file=sys.stderr)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from .server import serve

    serve(str(args.store), host=args.host, port=args.port, writable=args.writable, timeout=args.timeout,
          max_results=args.max_results, workers=args.workers, max_memory=args.max_memory,
          allow_service=args.allow_service, allow_load=args.allow_load, cache_mb=args.cache_mb)
    return 0


def cmd_network(args: argparse.Namespace) -> int:
    from .network import export_network

    source = _source(args)
    _refuse_input(args.output, source)
    graph = export_network(source, args.output, kind=args.kind, min_weight=args.min_weight, format=args.format)
    where = "standard output" if args.output == "-" else args.output
    print(f"{args.kind} network: {graph.number_of_nodes()} nodes, {graph.number_of_edges()} edges -> {where}",
          file=sys.stderr)
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    from .network import format_stats, stats

    print(format_stats(stats(_source(args), top=args.top)))
    return 0


def cmd_export_gmt(args: argparse.Namespace) -> int:
    from .export.gmt import export_gmt

    _refuse_input(args.output, args.query if args.query and "\n" not in args.query else None)
    report = export_gmt(str(args.store), args.output, organism=args.organism, kind=args.kind, query=args.query,
                        min_size=args.min_size, date=args.date)
    print(report, file=sys.stderr)
    return 0


def cmd_export_kgx(args: argparse.Namespace) -> int:
    from .export.kgx import export_kgx

    print(export_kgx(str(args.store), args.output), file=sys.stderr)
    return 0


def _date(text: str) -> str:
    if len(text) != 8 or not text.isdigit():
        raise argparse.ArgumentTypeError(f"not a date as YYYYMMDD: {text!r}")
    return text


# --------------------------------------------------------------------------- parser


class _HelpFormatter(argparse.HelpFormatter):
    """Every option's help ends with its default, unless it has none or says it itself."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if "default" in text or action.default in (None, False, argparse.SUPPRESS):
            return text
        return f"{text} (default: %(default)s)"


def _int_at_least(low: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be at least {low}, got {value}")
        return value

    return parse


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text}")
    return value


def _port(text: str) -> int:
    value = _int_at_least(0)(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"not a TCP port: {value}")
    return value


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kg", description="PFOCR pathway figures as a knowledge graph.", formatter_class=_HelpFormatter,
        epilog=f"Commands that read a store take --store DIR (default: {DEFAULT_STORE}); stats, network and push "
               "read an RDF dump given as their argument instead. -o FILE names what a command writes; - is "
               "standard output. Exit status: 0 success, 1 rejected records or a failed check, 2 an error "
               "(one line on stderr). 'kg COMMAND --help' describes each command.")
    parser.add_argument("--version", action="version", version=f"kg {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, func: Callable[[argparse.Namespace], int], help: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help, formatter_class=_HelpFormatter)
        p.set_defaults(func=func)
        return p

    def store_option(p: argparse.ArgumentParser | argparse._MutuallyExclusiveGroup, what: str) -> None:
        p.add_argument("--store", metavar="DIR", default=_Default(DEFAULT_STORE), help=what)

    def dump_argument(p: argparse.ArgumentParser) -> None:
        p.add_argument("dump", nargs="?", metavar="DUMP",
                       help="an RDF dump (.ttl, .nt, .nq, .jsonld, optionally .gz) to read instead of --store")

    p = command("build", cmd_build, "Convert PFOCR records into RDF (a file, a store, or both).")
    p.add_argument("sources", nargs="+", metavar="SOURCE",
                   help="record file, folder of .md records, or folder holding _figures/ (+ _data/)")
    p.add_argument("-o", "--output", metavar="OUT",
                   help="RDF file to write, - for standard output; with --split-lines a folder of shards "
                        "(default: none, then --store is needed)")
    p.add_argument("--format", choices=["turtle", "nt", "nq", "jsonld"],
                   help="RDF format to write (default: from -o's extension, else turtle)")
    p.add_argument("--rejects", metavar="FILE", help="write rejected records here as JSON Lines (default: not written)")
    p.add_argument("--store", metavar="DIR",
                   help=f"build into this Oxigraph store folder, e.g. {DEFAULT_STORE}, which the other commands read "
                        "by default (default: no store)")
    p.add_argument("--endpoint", metavar="URL",
                   help="also send the graph to this Graph Store endpoint once built, as kg push does, e.g. "
                        "http://127.0.0.1:7878/store (default: none)")
    p.add_argument("--graph", metavar="IRI", help="with --endpoint: the target named graph (default: the default graph)")
    p.add_argument("--replace", action="store_true", help="with --endpoint: replace what the target graph held "
                                                           "(default: add to it)")
    p.add_argument("--timeout", type=_seconds, default=120.0, metavar="SECONDS",
                   help="with --endpoint: each whole request must end within this")
    p.add_argument("--split-lines", type=_int_at_least(1), metavar="N",
                   help="write gzipped N-Triples/N-Quads shards of about N lines into the -o folder; a figure is "
                        "never split (default: one file)")
    p.add_argument("--jobs", "-j", type=_int_at_least(1), default=None, metavar="N",
                   help="worker processes (default: the CPUs this process may use)")
    p.add_argument("--full", action="store_true",
                   help="with --store: re-map every record, not only changed ones (default: only changed ones)")
    p.add_argument("--void", action="store_true", help="also write a VoID/DCAT description to OUT.void.ttl")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar (there is none when stderr is no terminal)")

    p = command("validate", cmd_validate, "Check an RDF file against the SHACL shapes in ontologies/shapes.ttl.")
    p.add_argument("file", metavar="FILE", help="the RDF file to check (.ttl, .nt, .nq, .jsonld)")

    p = command("load", cmd_load, "Load RDF dumps into the embedded store (atomically).")
    p.add_argument("dumps", nargs="+", metavar="DUMP", help="RDF files (.ttl, .nt, .nq, .jsonld, optionally .gz)")
    store_option(p, "the Oxigraph store folder to load into (created if missing)")
    p.add_argument("--graph", metavar="IRI", help="load triples into this named graph (default: the default graph)")
    p.add_argument("--replace", action="store_true", help="clear the target graph first")

    p = command("query", cmd_query, "Run SPARQL on the store or a remote endpoint.")
    p.add_argument("query", nargs="?",
                   help="a .rq file, inline SPARQL, or a library query name (see --list); kg's prefixes (kg:, "
                        "ncbigene:, dcterms: ...) need no PREFIX line")
    where = p.add_mutually_exclusive_group()
    store_option(where, "the Oxigraph store folder to query")
    where.add_argument("--endpoint", metavar="URL", help="query this SPARQL endpoint instead of --store")
    p.add_argument("--format", choices=["table", "csv", "tsv", "json", "ttl"], default="table",
                   help="table for reading; csv, tsv, json: the W3C SPARQL results formats; ttl (with --list): "
                        "the library as SPARQL examples (sh:SPARQLExecutable)")
    p.add_argument("--param", action="append", metavar="NAME=VALUE",
                   help="bind a query parameter; repeat a NAME to bind several values (default: none)")
    p.add_argument("--timeout", type=_seconds, default=60.0, metavar="SECONDS",
                   help="each whole --endpoint request (connect, send, answer) must end within this")
    p.add_argument("-o", "--output", metavar="FILE", default="-", help="write the results here; - is standard output")
    p.add_argument("--list", action="store_true", help="list the library queries and their parameters")

    p = command("push", cmd_push, "Send the graph to a remote triplestore (SPARQL 1.1 Graph Store Protocol).")
    dump_argument(p)
    store_option(p, "the Oxigraph store folder to send, when no DUMP is given")
    p.add_argument("--endpoint", required=True, metavar="URL",
                   help="Graph Store endpoint, e.g. http://127.0.0.1:7878/store (required)")
    p.add_argument("--update-endpoint", metavar="URL",
                   help="send SPARQL Update (INSERT DATA) to this URL instead (default: Graph Store Protocol)")
    p.add_argument("--query-endpoint", metavar="URL",
                   help="where to check the triple count (default: derived from --endpoint, /store -> /query)")
    p.add_argument("--graph", metavar="IRI", help="target named graph (default: the default graph)")
    p.add_argument("--chunk-triples", type=_int_at_least(1), default=50_000, metavar="N", help="triples per request")
    p.add_argument("--replace", action="store_true", help="clear the target graph first (default: add to it)")
    p.add_argument("--timeout", type=_seconds, default=120.0, metavar="SECONDS",
                   help="each whole request (connect, send, answer) must end within this; not retried after")

    p = command("serve", cmd_serve, "Serve the store as a SPARQL 1.1 Protocol endpoint (/sparql) and query page on 127.0.0.1.")
    store_option(p, "the Oxigraph store folder to serve")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (anything but loopback warns: no authentication)")
    p.add_argument("--port", type=_port, default=7878, help="TCP port (0: any free port)")
    p.add_argument("--writable", action="store_true", help="also accept SPARQL Update at /update (default: read-only)")
    p.add_argument("--timeout", type=_seconds, default=30.0, metavar="SECONDS",
                   help="stop a query after this long and answer 503")
    p.add_argument("--max-results", type=_int_at_least(1), default=10_000, metavar="N",
                   help="cut SELECT results after N rows, marked by the header X-KG-Truncated")
    p.add_argument("--workers", type=_int_at_least(1), default=2, metavar="N",
                   help="query worker processes, each with the store open read-only (--writable: always 1)")
    p.add_argument("--max-memory", type=_int_at_least(64), default=2048, metavar="MB",
                   help="stop a query whose worker grows beyond this resident size, 503")
    p.add_argument("--cache-mb", type=_int_at_least(0), default=64, metavar="MB",
                   help="answers kept per store generation, exact until a rebuild (0: none)")
    p.add_argument("--allow-service", action="store_true",
                   help="let queries use SERVICE, which makes the server send requests (default: refused)")
    p.add_argument("--allow-load", action="store_true",
                   help="with --writable, let updates use LOAD, which fetches URLs (default: refused)")

    p = command("network", cmd_network, "Project the graph into networkx and write GraphML, GEXF or node-link JSON.")
    dump_argument(p)
    store_option(p, "the Oxigraph store folder to read, when no DUMP is given")
    p.add_argument("--kind", choices=["cooccurrence", "bipartite"], default="cooccurrence",
                   help="gene-gene co-occurrence (weight: shared figures) or figure-gene")
    p.add_argument("--min-weight", type=_int_at_least(1), default=1, metavar="N",
                   help="keep genes shown in, and co-occurrence edges shared by, at least N figures")
    p.add_argument("-o", "--output", required=True, metavar="FILE",
                   help="FILE.graphml, FILE.gexf or FILE.json (required; - for standard output, with --format)")
    p.add_argument("--format", choices=["graphml", "gexf", "json"],
                   help="output format (default: from -o's extension)")

    p = command("stats", cmd_stats, "Headline counts and top genes, organisms and years.")
    dump_argument(p)
    store_option(p, "the Oxigraph store folder to read, when no DUMP is given")
    p.add_argument("--top", type=_int_at_least(0), default=10, metavar="N", help="how many top genes and organisms")

    p = sub.add_parser("export", help="Export the store for other tools: GMT gene sets, KGX (Biolink) TSV.",
                       description="Export the store for other tools: enrichment gene sets in PFOCR's GMT format "
                                   "(gmt) or a Biolink knowledge graph as KGX TSV (kgx).",
                       formatter_class=_HelpFormatter)
    formats = p.add_subparsers(dest="export_format", required=True, metavar="FORMAT",
                               help="gmt (gene sets for enrichment) or kgx (Biolink KGX TSV)")

    def export_command(name: str, func: Callable[[argparse.Namespace], int], help: str) -> argparse.ArgumentParser:
        e = formats.add_parser(name, help=help, description=help, formatter_class=_HelpFormatter)
        e.set_defaults(func=func)
        store_option(e, "the Oxigraph store folder to export")
        return e

    e = export_command("gmt", cmd_export_gmt,
                       "Figure gene sets (or chemical sets) as GMT, in PFOCR's release format: one line per figure, "
                       "figid_alias, figure title, then NCBI Gene ids (chemicals: chebi: CURIEs).")
    e.add_argument("-o", "--output", required=True, metavar="FILE.gmt|DIR/",
                   help="a GMT file (- for standard output), or a folder (existing, or ending in /) that gets one "
                        "file per organism named pfocr-<date>-gmt-<Organism_name>.gmt (required)")
    e.add_argument("--organism", metavar="NAME|TAXID",
                   help="only this organism's genes (chemicals: its figures), e.g. 'Homo sapiens' or 9606 "
                        "(default: every organism)")
    e.add_argument("--kind", choices=["genes", "chemicals"], default="genes",
                   help="gene sets (NCBI Gene ids) or chemical sets (chebi: CURIEs)")
    e.add_argument("--query", metavar="FILE.rq",
                   help="a SPARQL SELECT whose ?figure column (IRIs or figids) picks the figures, e.g. figures "
                        "mentioning a disease (default: every figure)")
    e.add_argument("--min-size", type=_int_at_least(1), default=1, metavar="N",
                   help="leave out figures with fewer than N ids (enrichment tools often use 3 or 5)")
    e.add_argument("--date", type=_date, metavar="YYYYMMDD",
                   help="the date in the file names of a folder export (default: today, UTC)")

    e = export_command("kgx", cmd_export_kgx,
                       "The graph as KGX TSV (nodes.tsv, edges.tsv) with Biolink categories and predicates, "
                       "for KG-Hub and Biolink tools.")
    e.add_argument("-o", "--output", required=True, metavar="DIR",
                   help="a new or empty folder, or one an earlier kg export wrote (required)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = make_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # usage errors (argparse has printed them), --help, --version
        return exc.code if isinstance(exc.code, int) else USAGE_ERROR
    if getattr(args, "jobs", 0) is None:
        from .pipeline import default_jobs

        args.jobs = default_jobs()
    try:
        return args.func(args)
    except KeyboardInterrupt:
        _err("interrupted")
        return 130
    except BrokenPipeError:  # `kg query ... | head`: the reader left; say nothing more
        _silence_stdout()
        return 1
    except (CommandError, FileNotFoundError, ValueError) as exc:
        _err(_one_line(str(exc)))
        return USAGE_ERROR
    except Exception as exc:  # noqa: BLE001 - every error is one line, never a traceback
        from .errors import KgError

        if isinstance(exc, KgError):
            _err(_one_line(str(exc)))
            return USAGE_ERROR
        _err(_one_line(f"{type(exc).__name__}: {exc}"))
        return USAGE_ERROR


def _one_line(text: str) -> str:
    return " ".join(text.split()) if "\n" in text else text


def _silence_stdout() -> None:
    """Point stdout at /dev/null so that the interpreter's final flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
