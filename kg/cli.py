"""The ``kg`` command: a thin layer over the Python API (``kg.pipeline``, ``kg.store``,
``kg.query``, ``kg.remote``, ``kg.network``, ``kg.validate``, ``kg.server``).

Exit status: 0 success, 1 when some records were rejected or a check failed, 2 on usage
errors and on errors that stop a command (missing file, unreachable endpoint...).
Errors are one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from typing import Callable, Sequence

from . import __version__

USAGE_ERROR = 2


class CommandError(Exception):
    """An error a command reports as one line with exit status 2."""


def _err(message: str) -> None:
    print(f"kg: {message}", file=sys.stderr)


def _params(items: Sequence[str] | None) -> dict[str, str]:
    params: dict[str, str] = {}
    for item in items or []:
        name, sep, val = item.partition("=")
        if not sep or not name:
            raise CommandError(f"--param takes NAME=VALUE, got {item!r}")
        params[name.strip().lstrip("?$")] = val
    return params


# --------------------------------------------------------------------------- commands


def cmd_build(args: argparse.Namespace) -> int:
    from .pipeline import build

    if args.output is None and args.store is None:
        raise CommandError("give -o OUT, --store DIR, or both")
    report = build(args.sources, args.output, format=args.format, rejects=args.rejects, store=args.store, jobs=args.jobs,
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

    report = load(args.dumps, args.store, graph=args.graph, replace=args.replace)
    print(report, file=sys.stderr)
    return 0


def cmd_query(args: argparse.Namespace) -> int:
    from .query import format_results, list_queries, run_query

    if args.list:
        for q in list_queries():
            params = " ".join(f"{p}=" for p in q.params)
            print(f"{q.name:<28} {q.description}" + (f"  [{params}]" if params else ""))
        return 0
    if args.query is None:
        raise CommandError("give a query: a .rq file, inline SPARQL, or a name from --list")
    result = run_query(args.query, store=None if args.endpoint else (args.store or _default_store()), endpoint=args.endpoint,
                       params=_params(args.param), timeout=args.timeout)
    sys.stdout.write(format_results(result, args.format))
    return 0


def cmd_push(args: argparse.Namespace) -> int:
    from .remote import push

    if (args.dump is None) == (args.store is None):
        raise CommandError("push takes a DUMP file or --store DIR (one of them)")
    report = push(args.dump or args.store, args.endpoint, graph=args.graph, update_endpoint=args.update_endpoint,
                  chunk_triples=args.chunk_triples, replace=args.replace, timeout=args.timeout,
                  query_endpoint=args.query_endpoint)
    print(report, file=sys.stderr)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from .server import serve

    serve(args.store, host=args.host, port=args.port, writable=args.writable)
    return 0


def cmd_network(args: argparse.Namespace) -> int:
    from .network import NETWORK_FORMATS, project, write_network

    if not args.output.lower().endswith(NETWORK_FORMATS):
        raise CommandError(f"-o must end with one of {', '.join(NETWORK_FORMATS)}")
    graph = project(args.source, kind=args.kind, min_weight=args.min_weight)
    write_network(graph, args.output)
    print(f"{args.kind} network: {graph.number_of_nodes()} nodes, {graph.number_of_edges()} edges -> {args.output}",
          file=sys.stderr)
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    from .network import format_stats, stats

    print(format_stats(stats(args.source, top=args.top)))
    return 0


def _default_store() -> str:
    from .store import DEFAULT_STORE

    return DEFAULT_STORE


# --------------------------------------------------------------------------- parser


def make_parser() -> argparse.ArgumentParser:
    from .store import DEFAULT_STORE

    parser = argparse.ArgumentParser(prog="kg", description="PFOCR pathway figures as a knowledge graph.")
    parser.add_argument("--version", action="version", version=f"kg {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, func: Callable[[argparse.Namespace], int], help: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help)
        p.set_defaults(func=func)
        return p

    p = command("build", cmd_build, "Convert PFOCR records into RDF (a file, a store, or both).")
    p.add_argument("sources", nargs="+", metavar="SOURCE",
                   help="record file, folder of .md records, or folder holding _figures/ (+ _data/)")
    p.add_argument("-o", "--output", help="output file (or folder of shards with --split-lines)")
    p.add_argument("--format", choices=["turtle", "nt", "nq", "jsonld"], help="default: from -o's extension, else turtle")
    p.add_argument("--rejects", metavar="FILE", help="write rejected records here as JSON Lines")
    p.add_argument("--store", metavar="DIR", help=f"build straight into this Oxigraph store (e.g. {DEFAULT_STORE})")
    p.add_argument("--split-lines", type=int, metavar="N", help="write gzipped N-Triples/N-Quads shards of about N lines (a figure is never split)")
    p.add_argument("--jobs", "-j", type=int, default=None, metavar="N", help="worker processes (default: CPU count)")
    p.add_argument("--full", action="store_true", help="with --store: re-map every record, not only changed ones")
    p.add_argument("--void", action="store_true", help="also write a VoID/DCAT description to OUT.void.ttl")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")

    p = command("validate", cmd_validate, "Check an RDF file against the SHACL shapes in ontologies/shapes.ttl.")
    p.add_argument("file")

    p = command("load", cmd_load, "Load RDF dumps into the embedded store (atomically).")
    p.add_argument("dumps", nargs="+", metavar="DUMP")
    p.add_argument("--store", default=DEFAULT_STORE, metavar="DIR", help=f"default: ./{DEFAULT_STORE}")
    p.add_argument("--graph", metavar="IRI", help="load triples into this named graph (default: the default graph)")
    p.add_argument("--replace", action="store_true", help="clear the target graph first")

    p = command("query", cmd_query, "Run SPARQL on the store or a remote endpoint.")
    p.add_argument("query", nargs="?", help="a .rq file, inline SPARQL, or a library query name (see --list)")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--store", metavar="DIR", help=f"default: ./{DEFAULT_STORE}")
    where.add_argument("--endpoint", metavar="URL", help="remote SPARQL endpoint (SPARQLWrapper)")
    p.add_argument("--format", choices=["table", "csv", "tsv", "json"], default="table")
    p.add_argument("--param", action="append", metavar="NAME=VALUE", help="bind a query parameter (repeatable)")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds, for --endpoint")
    p.add_argument("--list", action="store_true", help="list the library queries")

    p = command("push", cmd_push, "Send the graph to a remote triplestore (SPARQL 1.1 Graph Store Protocol).")
    p.add_argument("dump", nargs="?", metavar="DUMP")
    p.add_argument("--store", metavar="DIR")
    p.add_argument("--endpoint", required=True, metavar="URL", help="Graph Store endpoint, e.g. http://127.0.0.1:7878/store")
    p.add_argument("--update-endpoint", metavar="URL", help="use SPARQL Update (INSERT DATA) at this URL instead")
    p.add_argument("--query-endpoint", metavar="URL", help="where to check the count (default: derived from --endpoint)")
    p.add_argument("--graph", metavar="IRI", help="target named graph (default: the default graph)")
    p.add_argument("--chunk-triples", type=int, default=50_000, metavar="N")
    p.add_argument("--replace", action="store_true", help="clear the target graph first")
    p.add_argument("--timeout", type=float, default=120.0)

    p = command("serve", cmd_serve, "Serve the store as a SPARQL 1.1 Protocol endpoint on 127.0.0.1.")
    p.add_argument("--store", default=DEFAULT_STORE, metavar="DIR")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=7878)
    p.add_argument("--writable", action="store_true", help="also accept SPARQL Update (default: read-only)")

    p = command("network", cmd_network, "Project the graph into networkx and write GraphML/GEXF/JSON.")
    p.add_argument("source", nargs="?", default=DEFAULT_STORE, help="store folder or RDF dump")
    p.add_argument("--kind", choices=["cooccurrence", "bipartite"], default="cooccurrence")
    p.add_argument("--min-weight", type=int, default=1, metavar="N")
    p.add_argument("-o", "--output", required=True, help="FILE.graphml, FILE.gexf or FILE.json")

    p = command("stats", cmd_stats, "Headline counts and top genes, organisms and years.")
    p.add_argument("source", nargs="?", default=DEFAULT_STORE, help="store folder or RDF dump")
    p.add_argument("--top", type=int, default=10)
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
    except (CommandError, FileNotFoundError, ValueError) as exc:
        _err(str(exc))
        return USAGE_ERROR
    except Exception as exc:  # noqa: BLE001 - every error is one line, never a traceback
        from .errors import KgError

        if isinstance(exc, KgError):
            _err(str(exc))
            return USAGE_ERROR
        _err(f"{type(exc).__name__}: {exc}")
        return USAGE_ERROR


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
