"""Exact statistics of kg's graph, kept in the store by every build and update.

The aggregates over every figure (how many figures mention a gene, belong to a paper, an
organism, a publication year, a journal; how many figures, papers, genes... the graph holds)
cost a scan of the whole graph to compute; a store keeps them ready in the named graph
:data:`GRAPH`, never in the default graph (which stays exactly kg's graph and the loaded
graphs)::

    GRAPH <https://w3id.org/pfocr-kg/statistics> {
      <http://identifiers.org/ncbigene/7157> kg:figureCount 812 .          # gene, paper, organism
      <https://w3id.org/pfocr-kg/statistics#year-…> a kg:YearStatistic ;    # year, journal:
          rdf:value "2020"^^xsd:gYear ; kg:figureCount 5321 .                # a node per value
      <https://w3id.org/pfocr-kg/statistics#journal-…> a kg:JournalStatistic ;
          rdf:value "Cells" ; kg:figureCount 310 ; kg:paperCount 95 .
      <https://w3id.org/pfocr-kg/statistics#summary> a kg:GraphStatistic ;  # the totals
          kg:figureCount 100000 ; kg:paperCount 33000 ; kg:geneCount 6000 ; kg:chemicalCount 900 ;
          kg:diseaseCount 700 ; kg:organismCount 11 ; kg:mentionCount 2500000 .
    }

A figure's *facts* (:func:`facts`) are the keys it counts for, with a weight: its genes,
paper, organisms, chemicals and diseases (1 each), and the totals it adds to (1 figure, its
number of mentions).  The store's bookkeeping keeps the count per key (:class:`~kg.ledger.Ledger`
``stats``), updated by the difference of a changed figure's facts; chemicals and diseases
are only counted there (the summary's numbers of keys).  Years and journals are the
paper's, as the graph says them (figures of one paper may disagree): their counts are
summed from the papers' counts at the end of every build (:func:`refresh`), which also
rewrites the summary.  Either way the graph always equals what a fresh build computes.

The library queries read these statistics through their statistics variants
(``queries/statistics/*.rq``, see :mod:`kg.query`), when the store has them (:func:`present`)
and no loaded graph holds triples they count.
"""

from __future__ import annotations

from hashlib import blake2b
from typing import Iterable

from .vocab import DCTERMS, FABIO, KG, RDF, WP, XSD

GRAPH = "https://w3id.org/pfocr-kg/statistics"
#: The node holding the totals; its presence marks statistics of this :data:`VERSION`.
SUMMARY = f"{GRAPH}#summary"
#: Version of the statistics kept (a store's bookkeeping with another one is recounted).
VERSION = "2"
FIGURE_COUNT = f"<{KG}figureCount>"
PAPER_COUNT = f"<{KG}paperCount>"
_FIGURE_FACTS = {f"<{KG}mentionsGene>": "gene", f"<{DCTERMS}isPartOf>": "paper", f"<{WP}organism>": "organism",
                 f"<{KG}mentionsChemical>": "chemical", f"<{KG}mentionsDisease>": "disease"}
_HAS_MENTION = f"<{KG}hasMention>"
_A_FIGURE = (f"<{RDF}type>", f"<{KG}PathwayFigure>")
#: Kinds whose keys carry their count in the graph (the others are counted in the ledger only).
GRAPH_KINDS = ("gene", "paper", "organism")
#: The summary's properties: the number of keys of a kind, or a total (kind "total").
_SUMMARY = {("total", "figures"): FIGURE_COUNT, ("paper", None): PAPER_COUNT, ("gene", None): f"<{KG}geneCount>",
            ("chemical", None): f"<{KG}chemicalCount>", ("disease", None): f"<{KG}diseaseCount>",
            ("organism", None): f"<{KG}organismCount>", ("total", "mentions"): f"<{KG}mentionCount>"}
_PAPER_FACTS = {f"<{FABIO}hasPublicationYear>": "year", f"<{KG}journalTitle>": "journal"}
_NODE_TYPES = {"year": f"<{KG}YearStatistic>", "journal": f"<{KG}JournalStatistic>"}

Fact = tuple[str, str]


def facts(figure: str, lines: Iterable[str]) -> dict[Fact, int]:
    """``(kind, key) -> weight`` the figure counts for: its genes, paper, organisms,
    chemicals and diseases (IRIs in N-Triples form, weight 1), ``("total", "figures")`` (1
    if it is a kg:PathwayFigure) and ``("total", "mentions")`` (its distinct mentions)."""
    subject = f"<{figure}> "
    found: dict[Fact, int] = {}
    mentions: set[str] = set()
    for line in lines:
        if line.startswith(subject):
            p, o = line[len(subject):-3].split(" ", 1)
            kind = _FIGURE_FACTS.get(p)
            if kind is not None:
                found[(kind, o)] = 1
            elif p == _HAS_MENTION:
                mentions.add(o)
            elif (p, o) == _A_FIGURE:
                found[("total", "figures")] = 1
    if mentions:
        found[("total", "mentions")] = len(mentions)
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
    """Add the statistics ``(kind, key, count)`` of a new store (those of :data:`GRAPH_KINDS`)."""
    import pyoxigraph as ox

    data = "".join(line for kind, key, n in counts if kind in GRAPH_KINDS for line in lines(kind, key, n))
    if data:
        store.load(data.encode("utf-8"), format=ox.RdfFormat.N_TRIPLES, to_graph=ox.NamedNode(GRAPH), lenient=True)


def change(store, changes: Iterable[tuple[str, str, int, int]]) -> None:
    """Apply ``(kind, key, old count, new count)`` changes to the statistics graph."""
    import pyoxigraph as ox

    gone: list[str] = []
    new: list[str] = []
    for kind, key, old, count in changes:
        if kind not in GRAPH_KINDS and kind not in _NODE_TYPES:
            continue
        if old:
            gone += lines(kind, key, old, described=not count)
        if count:
            new += lines(kind, key, count, described=not old)
    for i in range(0, len(gone), 20_000):
        store.update(f"DELETE DATA {{ GRAPH <{GRAPH}> {{\n" + "".join(gone[i:i + 20_000]) + "} }")
    if new:
        store.load("".join(new).encode("utf-8"), format=ox.RdfFormat.N_TRIPLES, to_graph=ox.NamedNode(GRAPH),
                   lenient=True)


def refresh(store, ledger, affected: dict[str, set[str]] | None = None) -> None:
    """End of a build: the year and journal statistics (:func:`refresh_values`, only the
    ``affected`` values if given) and the summary (:func:`write_summary`) made to agree with
    the counts of ``ledger``."""
    refresh_values(store, affected)
    write_summary(store, ledger.stat_totals())


def refresh_values(store, affected: dict[str, set[str]] | None = None) -> None:
    """Make the year and journal counts the sums of their papers' figure counts, with the
    values the store's default graph gives each paper; and each journal's ``kg:paperCount``
    the number of its papers (that have figures).  ``affected``: only these values
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
    journal = f"<{KG}journalTitle>"
    only, nodes = "", ""
    if affected is not None:
        if not affected.get("journal"):
            return
        only = "VALUES ?v { " + " ".join(sorted(affected["journal"])) + " } "
        nodes = "VALUES ?s { " + " ".join(sorted(node("journal", v) for v in affected["journal"])) + " } "
    want = {node("journal", str(r["v"])): int(r["n"].value) for r in store.query(
        f"SELECT ?v (COUNT(DISTINCT ?p) AS ?n) {{ {only}GRAPH <{GRAPH}> {{ ?p {FIGURE_COUNT} ?c }} ?p {journal} ?v }} GROUP BY ?v")}
    have = {f"<{r['s'].value}>": int(r["n"].value) for r in store.query(
        f"SELECT ?s ?n {{ {nodes}GRAPH <{GRAPH}> {{ ?s {PAPER_COUNT} ?n }} FILTER(?s != <{SUMMARY}>) }}")}
    _replace(store, [f'{s} {PAPER_COUNT} "{n}"^^<{XSD}integer> .\n' for s, n in have.items() if want.get(s) != n],
             [f'{s} {PAPER_COUNT} "{n}"^^<{XSD}integer> .\n' for s, n in want.items() if have.get(s) != n])


def write_summary(store, totals: dict[tuple[str, str | None], int]) -> None:
    """Replace the summary node with ``totals`` (:meth:`kg.ledger.Ledger.stat_totals`: the
    number of keys of each kind, ``("kind", None)``, and the ``("total", key)`` sums)."""
    import pyoxigraph as ox

    subject = ox.NamedNode(SUMMARY)
    old = [f"{q.triple} .\n" for q in store.quads_for_pattern(subject, None, None, ox.NamedNode(GRAPH))]
    new = [f"<{SUMMARY}> <{RDF}type> <{KG}GraphStatistic> .\n"]
    new += [f'<{SUMMARY}> {prop} "{totals.get(key, 0)}"^^<{XSD}integer> .\n' for key, prop in _SUMMARY.items()]
    _replace(store, [line for line in old if line not in new], [line for line in new if line not in old])


def _replace(store, gone: list[str], new: list[str]) -> None:
    """Remove N-Triples lines ``gone`` from :data:`GRAPH`, add ``new``."""
    import pyoxigraph as ox

    if gone:
        store.update(f"DELETE DATA {{ GRAPH <{GRAPH}> {{\n" + "".join(gone) + "} }")
    if new:
        store.load("".join(new).encode("utf-8"), format=ox.RdfFormat.N_TRIPLES, to_graph=ox.NamedNode(GRAPH),
                   lenient=True)


def present(store) -> bool:
    """True when ``store`` holds statistics of this :data:`VERSION` (its summary node)."""
    import pyoxigraph as ox

    return next(iter(store.quads_for_pattern(ox.NamedNode(SUMMARY), None, None, ox.NamedNode(GRAPH))), None) is not None


def usable(store, counts: Iterable[tuple[str, str | None]]) -> bool:
    """True when the statistics of ``store`` answer a query over its default graph exactly:
    they are :func:`present`, the default graph holds the data (not a dump read as the union
    of its graphs) and no loaded named graph holds a triple matching one of ``counts``
    (``(predicate IRI, object IRI or None)``: the triples those statistics count; kg's graph
    is counted exactly, loaded triples are not)."""
    import pyoxigraph as ox

    if not present(store) or next(iter(store.quads_for_pattern(None, None, None, ox.DefaultGraph())), None) is None:
        return False
    patterns = [(ox.NamedNode(p), ox.NamedNode(o) if o else None) for p, o in counts]
    for graph in store.named_graphs():
        if graph.value == GRAPH:
            continue
        for p, o in patterns:
            if next(iter(store.quads_for_pattern(None, p, o, graph)), None) is not None:
                return False
    return True


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
