"""Exact statistics of kg's graph, kept in the store by every build and update.

The aggregates over every figure (how many figures mention a gene, belong to a paper, an
organism, a publication year, a journal) cost a scan of the whole graph to compute; a
store keeps them ready in the named graph :data:`GRAPH`, never in the default graph (which
stays exactly kg's graph and the loaded graphs)::

    GRAPH <https://w3id.org/pfocr-kg/statistics> {
      <http://identifiers.org/ncbigene/7157> kg:figureCount 812 .          # gene, paper, organism
      <https://w3id.org/pfocr-kg/statistics#year-…> a kg:YearStatistic ;    # year, journal:
          rdf:value "2020"^^xsd:gYear ; kg:figureCount 5321 .                # a node per value
    }

A figure's *facts* (:func:`facts`) are the genes, paper and organisms it counts for; the
store's bookkeeping keeps the count per key (:class:`~kg.ledger.Ledger` ``stats``),
updated by the difference of a changed figure's facts.  Years and journals are the
paper's, as the graph says them (figures of one paper may disagree): their counts are
summed from the papers' counts at the end of every build and load (:func:`refresh_values`).
Either way the graph always equals what a fresh build computes.
"""

from __future__ import annotations

from hashlib import blake2b
from typing import Iterable

from .vocab import DCTERMS, FABIO, KG, RDF, WP, XSD

GRAPH = "https://w3id.org/pfocr-kg/statistics"
FIGURE_COUNT = f"<{KG}figureCount>"
_FIGURE_FACTS = {f"<{KG}mentionsGene>": "gene", f"<{DCTERMS}isPartOf>": "paper", f"<{WP}organism>": "organism"}
_PAPER_FACTS = {f"<{FABIO}hasPublicationYear>": "year", f"<{KG}journalTitle>": "journal"}
_NODE_TYPES = {"year": f"<{KG}YearStatistic>", "journal": f"<{KG}JournalStatistic>"}

Fact = tuple[str, str]


def facts(figure: str, lines: Iterable[str]) -> set[Fact]:
    """``(kind, key)`` pairs the figure counts for: its genes, paper and organisms (IRIs in
    N-Triples form)."""
    subject = f"<{figure}> "
    found: set[Fact] = set()
    for line in lines:
        if line.startswith(subject):
            p, o = line[len(subject):-3].split(" ", 1)
            kind = _FIGURE_FACTS.get(p)
            if kind is not None:
                found.add((kind, o))
    return found


def node(kind: str, key: str) -> str:
    """The subject holding the count of ``key``: the key itself when it is an IRI, else a
    node minted from the kind and the value."""
    if kind in _NODE_TYPES:
        return f"<{GRAPH}#{kind}-{blake2b(key.encode('utf-8'), digest_size=10).hexdigest()}>"
    return key


def lines(kind: str, key: str, count: int, *, described: bool = True) -> list[str]:
    """N-Triples lines (for :data:`GRAPH`) stating ``count`` for ``key``; ``described``:
    with the value node's type and value (for year and journal keys)."""
    subject = node(kind, key)
    out = [f'{subject} {FIGURE_COUNT} "{count}"^^<{XSD}integer> .\n']
    if described and kind in _NODE_TYPES:
        out.append(f"{subject} <{RDF}type> {_NODE_TYPES[kind]} .\n")
        out.append(f"{subject} <{RDF}value> {key} .\n")
    return out


def write(store, counts: Iterable[tuple[str, str, int]]) -> None:
    """Add the statistics ``(kind, key, count)`` of a new store."""
    import pyoxigraph as ox

    data = "".join(line for kind, key, n in counts for line in lines(kind, key, n))
    if data:
        store.load(data.encode("utf-8"), format=ox.RdfFormat.N_TRIPLES, to_graph=ox.NamedNode(GRAPH), lenient=True)


def change(store, changes: Iterable[tuple[str, str, int, int]]) -> None:
    """Apply ``(kind, key, old count, new count)`` changes to the statistics graph."""
    import pyoxigraph as ox

    gone: list[str] = []
    new: list[str] = []
    for kind, key, old, count in changes:
        if old:
            gone += lines(kind, key, old, described=not count)
        if count:
            new += lines(kind, key, count, described=not old)
    for i in range(0, len(gone), 20_000):
        store.update(f"DELETE DATA {{ GRAPH <{GRAPH}> {{\n" + "".join(gone[i:i + 20_000]) + "} }")
    if new:
        store.load("".join(new).encode("utf-8"), format=ox.RdfFormat.N_TRIPLES, to_graph=ox.NamedNode(GRAPH),
                   lenient=True)


def refresh_values(store, affected: dict[str, set[str]] | None = None) -> None:
    """Make the year and journal counts the sums of their papers' figure counts, with the
    values the store's default graph gives each paper.  ``affected``: only these values
    (``"year"``/``"journal"`` -> N-Triples terms), those an update may have changed
    (:func:`paper_values`, :func:`values_of`); None: every value."""
    for pred, kind in _PAPER_FACTS.items():
        only = ""
        if affected is not None:
            if not affected.get(kind):
                continue
            only = "VALUES ?v { " + " ".join(sorted(affected[kind])) + " } "
        want = {str(r["v"]): int(r["n"].value) for r in store.query(
            f"SELECT ?v (SUM(?c) AS ?n) {{ {only}GRAPH <{GRAPH}> {{ ?p {FIGURE_COUNT} ?c }} ?p {pred} ?v }} GROUP BY ?v")}
        have = {str(r["v"]): int(r["n"].value) for r in store.query(
            f"SELECT ?v ?n {{ {only}GRAPH <{GRAPH}> {{ ?s a {_NODE_TYPES[kind]} ; <{RDF}value> ?v ; {FIGURE_COUNT} ?n }} }}")}
        change(store, [(kind, v, have.get(v, 0), want.get(v, 0)) for v in sorted(set(want) | set(have))
                       if have.get(v, 0) != want.get(v, 0)])


def paper_values(lines: Iterable[str], into: dict[str, set[str]]) -> None:
    """Add the years and journals that N-Triples ``lines`` state of papers to ``into``."""
    for line in lines:
        parts = line.split(" ", 2)
        kind = _PAPER_FACTS.get(parts[1]) if len(parts) == 3 else None
        if kind is not None:
            into.setdefault(kind, set()).add(parts[2].rstrip()[:-1].rstrip())


def values_of(store, papers: Iterable[str], into: dict[str, set[str]]) -> None:
    """Add the years and journals the store's default graph gives ``papers`` (N-Triples
    IRIs) to ``into``."""
    papers = sorted(papers)
    for i in range(0, len(papers), 5_000):
        chunk = " ".join(papers[i:i + 5_000])
        for pred, kind in _PAPER_FACTS.items():
            for r in store.query(f"SELECT DISTINCT ?v {{ VALUES ?p {{ {chunk} }} ?p {pred} ?v }}"):
                into.setdefault(kind, set()).add(str(r["v"]))
