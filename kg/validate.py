"""Check an RDF file against the SHACL shapes (``ontologies/shapes.ttl``), offline.

The data is loaded into one rdflib graph (the format from the file name, optionally
gzipped) and checked by pyshacl without inference, so nothing is fetched.  N-Quads and
JSON-LD are first read by pyoxigraph: the named graphs are merged, and a remote JSON-LD
``@context`` is refused, never loaded.
"""

from __future__ import annotations

import gzip
import logging
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.term import Node
from rdflib.collection import Collection
from rdflib.namespace import RDF, SH

from .errors import KgError
from .formats import format_for_path
from .vocab import PREFIXES


@dataclass
class Violation:
    """One SHACL validation result."""

    focus: str
    path: str | None
    constraint: str
    message: str
    severity: str = "Violation"
    value: str | None = None

    def line(self) -> str:
        where = f"focus {self.focus}" + (f" path {self.path}" if self.path else "")
        value = self.value
        shown = f" (value {value})" if value is not None and value != self.focus and value not in self.message else ""
        level = "" if self.severity == "Violation" else f"[{self.severity}] "
        return f"{level}{where}: {self.message}{shown}"


@dataclass
class ValidationResult:
    """Outcome of :func:`validate`: ``conforms`` and the results behind it."""

    conforms: bool
    violations: list[Violation] = field(default_factory=list)
    triples: int = 0

    def text(self) -> str:
        """One line per result, then a summary line."""
        count = sum(v.severity == "Violation" for v in self.violations)
        noun = "violation" if count == 1 else "violations"
        others = len(self.violations) - count
        extra = f", {others} warning{'s' if others != 1 else ''}" if others else ""
        summary = (f"conforms: {self.triples} triples, {count} {noun}{extra}" if self.conforms
                   else f"does not conform: {count} {noun}{extra} in {self.triples} triples")
        return "\n".join([v.line() for v in self.violations] + [summary])


def default_shapes() -> Path:
    """The packaged ``shapes.ttl``."""
    return Path(str(resources.files("kg.ontologies").joinpath("shapes.ttl")))


def load_graph(path: str | Path) -> Graph:
    """``path`` as one rdflib graph; FileNotFoundError if missing, KgError if unparsable."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such RDF file: {path}")
    fmt = format_for_path(path)
    data = path.read_bytes()
    quiet = logging.getLogger("rdflib.term")  # it logs a traceback per ill-typed literal: shapes report those
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)
    try:
        if path.name.lower().endswith(".gz"):
            data = gzip.decompress(data)
        if fmt in ("nq", "jsonld"):  # pyoxigraph: graphs merged, no remote @context ever fetched
            quads = ox.parse(data, format=ox.RdfFormat.N_QUADS if fmt == "nq" else ox.RdfFormat.JSON_LD)
            data = ox.serialize((q.triple for q in quads), format=ox.RdfFormat.N_TRIPLES)
        graph = Graph().parse(data=data, format="turtle" if fmt == "turtle" else "nt")
    except Exception as exc:  # noqa: BLE001 - parsers raise many types; all mean "bad file"
        raise KgError(f"cannot parse {path} as {fmt}: {_one_line(exc)}") from None
    finally:
        quiet.setLevel(level)
    for name, namespace in PREFIXES.items():
        graph.bind(name, namespace, replace=True)
    return graph


def _one_line(exc: Exception) -> str:
    """A parser error as one line (rdflib's Turtle errors span three)."""
    lines = str(exc).strip().splitlines() or [type(exc).__name__]
    if lines[0].endswith(" of <>:") and len(lines) > 1:  # rdflib: "at line N of <>:\nBad syntax (...) at ^ in:..."
        return f"{lines[0][:-len(' of <>:')]}: {lines[1].split(' at ^ in:')[0]}"
    return lines[0]


def validate(path: str | Path, shapes: str | Path | None = None) -> ValidationResult:
    """Validate the RDF file ``path`` against ``shapes`` (default: the packaged shapes)."""
    from pyshacl import validate as shacl_validate

    data = load_graph(path)
    shapes_graph = load_graph(shapes if shapes is not None else default_shapes())
    conforms, report, _ = shacl_validate(data, shacl_graph=shapes_graph, inference="none", abort_on_first=False,
                                         allow_warnings=True, meta_shacl=False, advanced=False)
    if not isinstance(report, Graph):  # pyshacl reports unusable shapes this way, not by raising
        raise KgError(f"cannot validate with {shapes or default_shapes()}: {report}")
    violations = sorted((_violation(report, data, node) for node in report.objects(None, SH.result)),
                        key=lambda v: (v.focus, v.path or "", v.constraint, v.message, v.value or ""))
    return ValidationResult(bool(conforms), violations, len(data))


def _violation(report: Graph, data: Graph, node: Node) -> Violation:
    def one(prop: URIRef) -> Node | None:
        return report.value(node, prop)

    path = one(SH.resultPath)
    component = one(SH.sourceConstraintComponent)
    message = one(SH.resultMessage)
    value = one(SH.value)
    severity = one(SH.resultSeverity)
    constraint = _local(component) if component is not None else "unknown"
    return Violation(
        focus=_term(data, one(SH.focusNode)),
        path=_path(report, data, path) if path is not None else None,
        constraint=constraint,
        message=str(message) if message is not None else constraint,
        severity=_local(severity) if severity is not None else "Violation",
        value=_term(data, value) if value is not None else None,
    )


def _local(node: Node) -> str:
    text = str(node)
    return text.rsplit("#", 1)[-1].rsplit("/", 1)[-1]


def _term(data: Graph, node: Node | None) -> str:
    if isinstance(node, URIRef):
        return f"<{node}>"
    if isinstance(node, Literal):  # not Literal.n3(): it warns about ill-typed numbers
        text = '"' + str(node).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
        if node.language:
            return f"{text}@{node.language}"
        return text + (f"^^{node.datatype.n3(data.namespace_manager)}" if node.datatype else "")
    return f"_:{node}" if isinstance(node, BNode) else str(node)


def _path(report: Graph, data: Graph, path: Node) -> str:
    """A SHACL property path in SPARQL-like syntax (``kg:p``, ``^kg:p``, ``a/b``, ``a|b``)."""
    if isinstance(path, URIRef):
        return path.n3(data.namespace_manager)
    inverse = report.value(path, SH.inversePath)
    if inverse is not None:
        return "^" + _path(report, data, inverse)
    alternative = report.value(path, SH.alternativePath)
    if alternative is not None:
        return "(" + "|".join(_path(report, data, p) for p in Collection(report, alternative)) + ")"
    for prop, suffix in ((SH.zeroOrMorePath, "*"), (SH.oneOrMorePath, "+"), (SH.zeroOrOnePath, "?")):
        inner = report.value(path, prop)
        if inner is not None:
            return _path(report, data, inner) + suffix
    if report.value(path, RDF.first) is not None:
        return "/".join(_path(report, data, p) for p in Collection(report, path))
    return str(path)
