"""kg.web: the query page and the resource pages, served by a small Starlette app over the
sample store (``LocalSparql``), driven with Starlette's TestClient.

Expected values come from the sample's own files (front matter, gene tables) or from the
store queried directly with pyoxigraph, never from the pages' own queries."""

from __future__ import annotations

import html
import json
import re
import shutil
from functools import lru_cache
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, quote

import anyio.to_thread
import pyoxigraph as ox
import pytest
import yaml
from rdflib import Graph, URIRef
from rdflib.compare import isomorphic
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

import kg.web
from conftest import ROOT, SAMPLE
from kg.errors import QueryError
from kg.query import example_query, list_queries
from kg.store import open_store
from kg.store import query as store_query
from kg.web import LocalSparql, pages, svg

PFOCR = "https://pfocr.wikipathways.org/figures/"
NCBIGENE = "https://identifiers.org/ncbigene/"
FIGID = "PMC10003241__ijms-24-04893-g003"  # has genes, chemicals, a disease, a DOI
FIGURE = f"{PFOCR}{FIGID}.html"
HUMAN = "http://purl.obolibrary.org/obo/NCBITaxon_9606"
WP4799 = ROOT / "examples" / "wikipathways" / "WP4799.ttl"
ACE2_FIGURE = "PMC10036296__gr1_lrg"


# --------------------------------------------------------------------------- the app


async def sparql_endpoint(request: Request) -> Response:
    """A bare SPARQL endpoint for the tests' app (the real one is kg.server's): the query
    page's YASGUI talks to it in the browser tests."""
    if request.method == "POST":
        text = parse_qs((await request.body()).decode("utf-8")).get("query", [None])[0]
    else:
        text = request.query_params.get("query")
    if not text:
        return PlainTextResponse("missing query\n", status_code=400)
    live = request.app.state.sparql.live

    def run() -> tuple[bytes, str]:
        answer = store_query(live.get(), str(text))
        if isinstance(answer, ox.QueryTriples):
            return ox.serialize(list(answer), format=ox.RdfFormat.TURTLE), "text/turtle"
        return answer.serialize(format=ox.QueryResultsFormat.JSON), "application/sparql-results+json"

    try:
        body, media = await anyio.to_thread.run_sync(run)
    except (SyntaxError, ValueError, OSError, RuntimeError) as exc:
        return PlainTextResponse(f"{exc}\n", status_code=400)
    return Response(body, media_type=media)


def make_app(store: Path) -> Starlette:
    """``kg.web.routes`` (and a bare ``/sparql``) over ``store``, as the contract describes."""
    app = Starlette(routes=[Route("/sparql", sparql_endpoint, methods=["GET", "POST"]), *kg.web.routes])
    app.state.sparql = LocalSparql(store)
    return app


@pytest.fixture(scope="module")
def client(sample_store):
    with TestClient(make_app(sample_store), base_url="http://127.0.0.1") as test_client:
        yield test_client


def page(client: TestClient, iri: str, accept: str = "text/html", **params) -> "Response":
    extra = "".join(f"&{k}={quote(str(v), safe='')}" for k, v in params.items())
    return client.get(f"/resource?iri={quote(iri, safe='')}{extra}", headers={"Accept": accept})


def text_of(markup: str) -> str:
    """The visible text of an HTML page, entities decoded, whitespace collapsed."""
    markup = re.sub(r"<(script|style)\b.*?</\1>", " ", markup, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", markup)))


@lru_cache(maxsize=None)
def front_matter(figid: str) -> dict:
    text = (SAMPLE / "_figures" / f"{figid}.md").read_text("utf-8")
    return yaml.safe_load(text.split("\n---", 1)[0].split("---\n", 1)[1])


def store_rows(store: Path, query: str) -> list[dict[str, str]]:
    """Rows of a SELECT on the store, opened directly (values as strings)."""
    opened = open_store(store, read_only=True)
    try:
        answer = store_query(opened, query)
        names = [v.value for v in answer.variables]
        return [{n: row[n].value for n in names if row[n] is not None} for row in answer]
    finally:
        del opened


def store_count(store: Path, pattern: str) -> int:
    return int(store_rows(store, f"SELECT (COUNT(DISTINCT ?fig) AS ?n) WHERE {{ {pattern} }}")[0]["n"])


class Links(HTMLParser):
    """Every ``href`` and ``src`` of a page, by tag."""

    def __init__(self):
        super().__init__()
        self.found: list[tuple[str, str, str]] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("href", "src") and value is not None:
                self.found.append((tag, name, value))


def links(markup: str) -> list[tuple[str, str, str]]:
    parser = Links()
    parser.feed(markup)
    return parser.found


def assert_loads_nothing_external(markup: str) -> None:
    """Scripts, styles, images and icons come from this server (relative URLs or data:);
    only plain ``<a href>`` may point elsewhere, for the user to click."""
    for tag, name, value in links(markup):
        if tag == "a":
            continue
        assert not re.match(r"([a-z][a-z0-9+.-]*:)?//", value, re.I) or value.startswith("data:"), (tag, name, value)
        assert not value.startswith("/"), f"{tag} {name}={value}: absolute paths break behind a prefix"


def resource_links(markup: str) -> set[str]:
    """The IRIs of the ``resource?iri=`` links of a page."""
    from urllib.parse import urlsplit

    return {parse_qs(urlsplit(value).query)["iri"][0] for tag, name, value in links(markup)
            if tag == "a" and value.startswith("resource?")}


# --------------------------------------------------------------------------- the query page


def test_query_page_offers_every_library_query_with_its_example_text(client):
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    body = response.text
    data = json.loads(html.unescape(re.search(r'<script type="application/json" id="kg-examples">(.*?)</script>',
                                              body, re.S).group(1)))
    library = list_queries()
    assert [e["name"] for e in data] == [q.name for q in library]
    for example, query in zip(data, library):
        assert example["query"] == example_query(query)
        assert example["description"] == query.description
        assert [p["name"] for p in example["params"]] == query.params
        assert query.description in text_of(body)
    prefixes = json.loads(re.search(r'id="kg-prefixes">(.*?)</script>', body, re.S).group(1))
    from kg.vocab import PREFIXES
    assert prefixes == PREFIXES
    default = json.loads(re.search(r'id="kg-default-query">(.*?)</script>', body, re.S).group(1))
    assert all(f"PREFIX {p}: <{iri}>" in default for p, iri in PREFIXES.items())
    assert_loads_nothing_external(body)


def test_query_page_assets_are_served_from_the_package(client):
    body = client.get("/").text
    for tag, name, value in links(body):
        if tag in ("script", "link") and not value.startswith("data:"):
            response = client.get("/" + value)
            assert response.status_code == 200, value
    assert "javascript" in client.get("/static/yasgui/yasgui.min.js").headers["content-type"]
    assert "MIT" in client.get("/static/yasgui/LICENSE").text
    assert client.get("/static/nothing-here.js").status_code == 404


def test_vendored_yasgui_fetches_nothing_from_elsewhere():
    """The bundle calls out only where a feature is configured to (prefix.cc, LOV
    autocompletion, the endpoint catalogue): query.js turns each of them off."""
    static = ROOT / "kg" / "web" / "static"
    js = (static / "yasgui" / "yasgui.min.js").read_text("utf-8")
    css = (static / "yasgui" / "yasgui.min.css").read_text("utf-8")
    for cdn in ("fonts.googleapis", "fonts.gstatic", "cdn.jsdelivr", "unpkg.com", "cdnjs", "sourceMappingURL"):
        assert cdn not in js and cdn not in css, cdn
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", css)
    assert "@import" not in css
    assert "lov.linkeddata.es" in js  # the class/property completers exist in the bundle ...
    config = (static / "query.js").read_text("utf-8")
    assert 'autocompleters: ["prefixes", "variables"]' in config  # ... and are not enabled
    assert "prefixCcApi: null" in config
    assert "getData: function () { return [{ endpoint: endpoint }]; }" in config
    assert (static / "yasgui" / "VERSION").read_text().strip() == "4.6.2"
    assert (static / "yasgui" / "THIRD-PARTY-LICENSES").stat().st_size > 10_000


# --------------------------------------------------------------------------- pages by type


def test_figure_page(client, sample_store):
    meta = front_matter(FIGID)
    response = page(client, FIGURE)
    assert response.status_code == 200
    body, text = response.text, text_of(response.text)
    assert f"<title>{html.escape(meta['figtitle'])} · kg</title>" in body
    assert meta["caption"] in text
    assert meta["number"] in text and meta["figtype"] in text
    pmc_page = store_rows(sample_store, f"SELECT ?u WHERE {{ <{FIGURE}> <https://w3id.org/pfocr-kg/vocab#pmcFigurePage> ?u }}")
    assert f'href="{html.escape(pmc_page[0]["u"])}"' in body
    assert f'href="{FIGURE}"' in body  # the PFOCR page
    # the paper
    assert meta["papertitle"] in text and meta["journal_title"] in text and meta["year"] in text
    assert f'href="https://doi.org/{meta["doi"]}"' in body
    assert f'href="https://www.ncbi.nlm.nih.gov/pmc/articles/{meta["pmcid"]}/"' in body
    assert f"https://identifiers.org/pmc/{meta['pmcid']}" in resource_links(body)
    # genes: symbol, NCBI link, the word read
    table = (SAMPLE / "_data" / f"{FIGID}-genes.tsv").read_text("utf-8").splitlines()
    rows = [dict(zip(table[0].split("\t"), line.split("\t"))) for line in table[1:]]
    assert rows
    for row in rows:
        assert f'href="https://www.ncbi.nlm.nih.gov/gene/{row["ncbigene_id"]}"' in body
        assert NCBIGENE + row["ncbigene_id"] in resource_links(body)
        assert f">{html.escape(row['ncbigene_symbol'])}</a>" in body
        assert f"<code>{html.escape(row['word'])}</code>" in body
    # chemicals, diseases, organisms: every one the store links the figure to has a link
    for predicate in ("mentionsChemical", "mentionsDisease"):
        terms = store_rows(sample_store, f"SELECT ?t WHERE {{ <{FIGURE}> <https://w3id.org/pfocr-kg/vocab#{predicate}> ?t }}")
        assert terms, predicate
        assert {t["t"] for t in terms} <= resource_links(body)
    assert "Homo sapiens" in text and HUMAN in resource_links(body)
    assert "WikiPathways pathways sharing" not in text  # no WikiPathways data in this store
    assert_loads_nothing_external(body)


def test_figure_page_lists_wikipathways_pathways_sharing_genes(tmp_path):
    """With WikiPathways RDF loaded beside the graph, the ACE2 figure names WP4799."""
    from kg.cli import main

    store = tmp_path / "store"
    assert main(["build", str(SAMPLE), "--store", str(store)]) == 0
    assert main(["load", str(WP4799), "--store", str(store)]) == 0
    wp = Graph().parse(WP4799, format="turtle")
    pathway = URIRef("https://identifiers.org/wikipathways/WP4799_r129018")
    title = str(wp.value(pathway, URIRef("http://purl.org/dc/elements/1.1/title")))
    assert title and title != "None"
    with TestClient(make_app(store), base_url="http://127.0.0.1") as test_client:
        body = page(test_client, f"{PFOCR}{ACE2_FIGURE}.html").text
    assert "WikiPathways pathways sharing its genes" in body
    assert html.escape(title, quote=False) in body
    assert str(pathway) in resource_links(body)
    assert re.search(r"ACE2", text_of(body.split("WikiPathways pathways sharing")[1]))


def test_gene_page(client, sample_store):
    gene = NCBIGENE + "6714"  # SRC
    response = page(client, gene)
    assert response.status_code == 200
    body, text = response.text, text_of(response.text)
    assert "<h1>SRC</h1>" in body
    assert 'href="https://www.ncbi.nlm.nih.gov/gene/6714"' in body
    figures = store_rows(sample_store, f"SELECT DISTINCT ?fig WHERE {{ ?fig <https://w3id.org/pfocr-kg/vocab#mentionsGene> <{gene}> }}")
    assert figures and {f["fig"] for f in figures} <= resource_links(body)
    assert f"{len(figures)} figures" in text
    # the co-occurring genes, most shared figures first, as the store counts them
    partners = store_rows(sample_store, f"""
        SELECT ?other (COUNT(DISTINCT ?fig) AS ?n) WHERE {{
          ?fig <https://w3id.org/pfocr-kg/vocab#mentionsGene> <{gene}> , ?other . FILTER(?other != <{gene}>)
        }} GROUP BY ?other ORDER BY DESC(?n)""")
    best = int(partners[0]["n"])
    top = [p["other"] for p in partners if int(p["n"]) == best]
    section = body.split("Genes in the same figures")[1].split("Co-occurrence network")[0]
    assert set(top) <= resource_links(section)
    # the network: inline SVG, no script, nodes link to their pages
    svg_markup = re.search(r"<svg.*?</svg>", body, re.S).group(0)
    assert "<script" not in svg_markup.lower()
    assert f'href="{pages.resource_href(gene)}"' in svg_markup
    assert len(re.findall(r"<circle", svg_markup)) == 1 + min(len(partners), pages.NETWORK_GENES)
    assert_loads_nothing_external(body)


def test_gene_figures_are_paged_newest_first(client, sample_store, monkeypatch):
    gene = NCBIGENE + "6714"
    monkeypatch.setattr(pages, "PAGE_SIZE", 1)
    seen, years = [], []
    total = store_count(sample_store, f"?fig <https://w3id.org/pfocr-kg/vocab#mentionsGene> <{gene}>")
    for number in range(1, total + 1):
        body = page(client, gene, page=number).text
        section = body.split('<section class="figures">')[1].split("</section>")[0]
        found = [iri for iri in resource_links(section) if iri.startswith(PFOCR)]
        assert len(found) == 1
        seen += found
        years.append(int(re.search(r'<td class="year">(\d{4})</td>', section).group(1)))
        assert f"page {number} of {total}" in section
        assert ("rel=\"next\"" in section) == (number < total)
    assert len(set(seen)) == total
    assert years == sorted(years, reverse=True)
    assert "No figures on this page" in page(client, gene, page=total + 1).text


@pytest.mark.parametrize("kind, iri, pattern", [
    ("Paper", "https://identifiers.org/pmc/PMC10003241", "?fig <http://purl.org/dc/terms/isPartOf> <{iri}>"),
    ("Organism", HUMAN, "?fig <http://vocabularies.wikipathways.org/wp#organism> <{iri}>"),
    ("Chemical", "http://id.nlm.nih.gov/mesh/D005227", "?fig <https://w3id.org/pfocr-kg/vocab#mentionsChemical> <{iri}>"),
    ("Disease", "http://id.nlm.nih.gov/mesh/D011488", "?fig <https://w3id.org/pfocr-kg/vocab#mentionsDisease> <{iri}>"),
])
def test_term_pages_list_their_figures(client, sample_store, kind, iri, pattern):
    response = page(client, iri)
    assert response.status_code == 200
    body = response.text
    assert f'<div class="kind">{kind}</div>' in body
    total = store_count(sample_store, pattern.format(iri=iri))
    assert total > 0
    assert f"{total} figure" in text_of(body)
    figures = store_rows(sample_store, f"SELECT DISTINCT ?fig WHERE {{ {pattern.format(iri=iri)} }}")
    shown = {f["fig"] for f in figures} & resource_links(body)
    assert len(shown) == min(total, pages.PAGE_SIZE)
    assert_loads_nothing_external(body)


def test_paper_page_shows_its_bibliography(client):
    meta = front_matter(FIGID)
    body = page(client, f"https://identifiers.org/pmc/{meta['pmcid']}").text
    assert f"<h1>{html.escape(meta['papertitle'], quote=False)}</h1>" in body
    assert meta["journal_title"] in body and meta["publisher_name"] in body
    assert f'href="https://doi.org/{meta["doi"]}"' in body
    for keyword in meta["keywords"].split(" | "):
        assert f'<span class="tag">{keyword}</span>' in body


def test_any_other_resource_is_a_table_of_its_triples_both_ways(client, sample_store):
    mention = store_rows(sample_store, f"""SELECT ?m WHERE {{ <{FIGURE}> <https://w3id.org/pfocr-kg/vocab#hasMention> ?m .
        ?m a <https://w3id.org/pfocr-kg/vocab#GeneMention> }} LIMIT 1""")[0]["m"]
    response = page(client, mention)
    assert response.status_code == 200
    body = response.text
    assert '<div class="kind">Resource</div>' in body
    outgoing = store_rows(sample_store, f"SELECT ?p ?o WHERE {{ <{mention}> ?p ?o }}")
    incoming = store_rows(sample_store, f"SELECT ?s ?p WHERE {{ ?s ?p <{mention}> }}")
    assert outgoing and incoming
    assert f"Statements about it <small>{len(outgoing)}</small>" in body
    assert f"Statements pointing to it <small>{len(incoming)}</small>" in body
    assert FIGURE in resource_links(body)
    for row in outgoing:
        if not row["o"].startswith("http"):
            assert html.escape(row["o"], quote=False) in body


# --------------------------------------------------------------------------- content negotiation


def description(store: Path, iri: str) -> set[tuple]:
    """The triples with ``iri`` as subject or object, read from the store directly."""
    opened = open_store(store, read_only=True)
    try:
        node = ox.NamedNode(iri)
        found = set(store_query(opened, f"CONSTRUCT {{ <{iri}> ?p ?o . ?s ?q <{iri}> }} WHERE {{ {{ <{iri}> ?p ?o }} UNION {{ ?s ?q <{iri}> }} }}"))
        assert found and any(t.subject == node for t in found)
        return {(str(t.subject), str(t.predicate), str(t.object)) for t in found}
    finally:
        del opened


@pytest.mark.parametrize("accept, media, rdflib_format", [
    ("text/turtle", "text/turtle", "turtle"),
    ("application/n-triples", "application/n-triples", "nt"),
    ("application/ld+json", "application/ld+json", "json-ld"),
    ("application/rdf+xml", "application/rdf+xml", "xml"),
    ("text/html;q=0.5, text/turtle", "text/turtle", "turtle"),
    ("application/ld+json;q=0.9, application/n-triples;q=0.4", "application/ld+json", "json-ld"),
])
def test_machines_get_the_description(client, sample_store, accept, media, rdflib_format):
    gene = NCBIGENE + "4040"
    response = page(client, gene, accept=accept)
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == media
    assert "Accept" in response.headers["vary"]
    graph = Graph().parse(data=response.content, format=rdflib_format)
    got = {(s.n3(), p.n3(), o.n3()) for s, p, o in graph}
    expected = Graph().parse(data="\n".join(f"{s} {p} {o} ." for s, p, o in description(sample_store, gene)),
                             format="nt")
    assert isomorphic(graph, expected)
    assert any(o.n3() == f"<{gene}>" for _, _, o in graph)  # incoming triples too
    assert len(got) == len(expected)


def test_browsers_and_curl_get_html_and_format_overrides(client):
    browser = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"
    for accept in (browser, "*/*", ""):
        response = page(client, FIGURE, accept=accept)
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/html"), accept
    assert page(client, FIGURE, format="ttl").headers["content-type"].startswith("text/turtle")
    assert page(client, FIGURE, accept="text/turtle", format="html").headers["content-type"].startswith("text/html")
    response = page(client, FIGURE, accept="image/png")
    assert response.status_code == 406 and "text/turtle" in response.text
    body = page(client, FIGURE).text
    for fmt in ("ttl", "nt", "jsonld", "rdf"):
        assert f"{pages.resource_href(FIGURE)}&amp;format={fmt}" in body


def test_negotiate():
    assert pages.negotiate(None) == "text/html"
    assert pages.negotiate("text/*") == "text/html"
    assert pages.negotiate("application/*") == "application/n-triples"
    assert pages.negotiate("text/turtle;q=0, */*;q=0.1") == "text/html"
    assert pages.negotiate("application/json") == "application/ld+json"
    assert pages.negotiate("text/turtle;q=oops, application/n-triples;q=0.2") == "application/n-triples"
    assert pages.negotiate("image/png, text/csv") is None


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize("query, reason", [
    ("", "missing parameter: iri"),
    ("?iri=", "missing parameter: iri"),
    ("?iri=%20%20", "missing parameter: iri"),
    ("?iri=not%20an%20iri", "not a valid IRI"),
    ("?iri=relative/path", "not a valid IRI"),
    ("?iri=http%3A%2F%2Fx.org%2Fa%3Cb", "not a valid IRI"),
    (f"?iri={quote(FIGURE, safe='')}&page=0", "page must be a positive whole number"),
    (f"?iri={quote(FIGURE, safe='')}&page=-1", "page must be a positive whole number"),
    (f"?iri={quote(FIGURE, safe='')}&page=x", "page must be a positive whole number"),
    (f"?iri={quote(FIGURE, safe='')}&format=pdf", "unknown format 'pdf'"),
    ("?iri=http%3A%2F%2Fx.org%2F" + "a" * 5000, "longer than 4096"),
])
def test_bad_requests_are_400_with_a_reason(client, query, reason):
    response = client.get("/resource" + query, headers={"Accept": "text/html"})
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/html")
    assert reason in text_of(response.text)
    machine = client.get("/resource" + query, headers={"Accept": "text/turtle"})
    assert machine.status_code == 400 and machine.headers["content-type"].startswith("text/plain")
    assert reason in machine.text and machine.text.count("\n") == 1


def test_unknown_iri_is_404_and_escaped(client):
    iri = "http://example.org/nothing?a=1&b='2'"
    response = page(client, iri)
    assert response.status_code == 404
    assert "Not found" in response.text
    assert "&amp;b=&#39;2&#39;" in response.text and "&b='2'" not in response.text
    machine = page(client, iri, accept="text/turtle")
    assert machine.status_code == 404 and machine.headers["content-type"].startswith("text/plain")
    assert client.get("/no/such/page").status_code == 404


# --------------------------------------------------------------------------- escaping


def test_html_in_a_record_shows_as_text(tmp_path):
    """A real record whose caption and title carry markup: the figure page shows it as text."""
    from kg.cli import main

    source = tmp_path / "sample"
    (source / "_figures").mkdir(parents=True)
    shutil.copytree(SAMPLE / "_data", source / "_data")
    record = (SAMPLE / "_figures" / f"{FIGID}.md").read_text("utf-8")
    meta = front_matter(FIGID)
    evil_caption = '<script>alert("caption")</script><img src=x onerror=alert(1)> & done'
    evil_title = "<b>bold</b> & <i>title</i>"
    first_caption_line = "caption: 'An overview of the energetic metabolism of osteoblasts. Schematic description"
    assert first_caption_line in record
    record = record.replace(first_caption_line, "caption: '" + evil_caption.replace("'", "''") + " Schematic description", 1)
    record = record.replace("figtitle: 'Metabolic Features", f"figtitle: '{evil_title} Metabolic Features", 1)
    (source / "_figures" / f"{FIGID}.md").write_text(record, "utf-8")
    store = tmp_path / "store"
    assert main(["build", str(source), "--store", str(store)]) == 0
    with TestClient(make_app(store), base_url="http://127.0.0.1") as test_client:
        body = page(test_client, FIGURE).text
        query_page = test_client.get("/").text
    assert "<script>alert" not in body and "<img src=x" not in body and "<b>bold</b>" not in body
    assert evil_caption in text_of(body)  # shown as text, entities and all
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; &lt;i&gt;title&lt;/i&gt;" in body
    assert body.count("<script") == 0  # resource pages need no script at all
    assert meta["papertitle"] in text_of(body)
    assert query_page.count("<script") == 5  # 3 JSON blocks, YASGUI, query.js


def test_svg_escapes_labels_and_links():
    nodes = [svg.Node("http://x.org/a", "<A&>", 'resource?iri=a"b'), svg.Node("http://x.org/b", "B</text>", "resource?iri=b")]
    markup = svg.network(nodes, [("http://x.org/a", "http://x.org/b", 3)])
    assert "&lt;A&amp;&gt;" in markup and "B&lt;/text&gt;" in markup
    assert 'href="resource?iri=a&quot;b"' in markup
    assert "<A&>" not in markup
    assert markup.count("<line") == 1 and markup.count("<circle") == 2


# --------------------------------------------------------------------------- LocalSparql


def test_local_sparql(sample_store):
    sparql = LocalSparql(sample_store)

    async def run():
        rows = await sparql.select(f"SELECT ?t WHERE {{ <{FIGURE}> <http://purl.org/dc/terms/title> ?t }}")
        assert rows == [{"t": {"type": "literal", "value": front_matter(FIGID)["figtitle"]}}]
        assert await sparql.select("ASK { ?s ?p ?o }") == [{"boolean": {"type": "literal", "value": "true"}}]
        turtle = await sparql.graph(f"DESCRIBE <{FIGURE}>", "text/turtle")
        assert len(Graph().parse(data=turtle, format="turtle")) > 10
        with pytest.raises(QueryError, match="SPARQL syntax error"):
            await sparql.select("SELECT WHERE {")
        with pytest.raises(QueryError, match="CONSTRUCT or DESCRIBE"):
            await sparql.graph("SELECT * WHERE { ?s ?p ?o } LIMIT 1", "text/turtle")
        with pytest.raises(Exception, match="not an RDF media type"):
            await sparql.graph(f"DESCRIBE <{FIGURE}>", "text/csv")

    anyio.run(run)


def test_local_sparql_follows_a_rebuild(tmp_path):
    from kg.cli import main

    source = tmp_path / "sample"
    shutil.copytree(SAMPLE, source)
    store = tmp_path / "store"
    assert main(["build", str(source), "--store", str(store)]) == 0
    with TestClient(make_app(store), base_url="http://127.0.0.1") as test_client:
        assert "Metabolic Features" in page(test_client, FIGURE).text
        path = source / "_figures" / f"{FIGID}.md"
        path.write_text(path.read_text("utf-8").replace("figtitle: 'Metabolic Features", "figtitle: 'Rebuilt Features", 1), "utf-8")
        assert main(["build", str(source), "--store", str(store)]) == 0
        assert "Rebuilt Features" in page(test_client, FIGURE).text
