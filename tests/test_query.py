"""kg.query and ``kg query``: resolving queries, binding parameters safely (injection
attempts), result formats (W3C SPARQL 1.1 CSV/TSV/JSON), and one-line errors for syntax
errors, missing stores, unreachable endpoints and HTTP failures of a real server."""

from __future__ import annotations

import csv
import http.server
import io
import json
import socket
import threading
import urllib.parse
import urllib.request
from pathlib import Path

import pyoxigraph as ox
import pytest

from conftest import store_quads

from kg.cli import main
from kg.errors import QueryError, RemoteError, StoreError
from kg.query import (QueryResult, bind_params, declare_prefixes, format_results, list_queries, parse_term,
                      resolve_query, run_query)

XSD = "http://www.w3.org/2001/XMLSchema#"
LRP6_FIGURE = "PMC10003241__ijms-24-04893-g003"
ECHO = "# Echo a parameter back.\n# param: x — any value (TP53)\nSELECT ?x WHERE { }\n"


@pytest.fixture(scope="module")
def endpoint(oxigraph_server, sample_ttl):
    oxigraph_server.load_turtle(sample_ttl)
    return oxigraph_server.query_endpoint


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens there once the socket is closed


def remote_count(endpoint: str) -> int:
    result = run_query("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }", endpoint=endpoint)
    return int(result.rows[0]["n"].value)


class Canned(http.server.ThreadingHTTPServer):
    """A real HTTP server on loopback answering every request with one canned response."""

    def __init__(self, status: int, body: bytes, content_type: str = "application/sparql-results+json"):
        self.status, self.body, self.content_type = status, body, content_type
        self.requests: list[tuple[str, str, bytes]] = []
        super().__init__(("127.0.0.1", 0), _CannedHandler)
        self.url = f"http://127.0.0.1:{self.server_address[1]}/sparql"
        threading.Thread(target=self.serve_forever, daemon=True).start()


class _CannedHandler(http.server.BaseHTTPRequestHandler):
    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.server.requests.append((self.command, self.path, self.rfile.read(length)))  # type: ignore[attr-defined]
        self.send_response(self.server.status)  # type: ignore[attr-defined]
        self.send_header("Content-Type", self.server.content_type)  # type: ignore[attr-defined]
        self.end_headers()
        self.wfile.write(self.server.body)  # type: ignore[attr-defined]

    do_GET = do_POST = _answer

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def canned():
    servers: list[Canned] = []

    def start(status: int, body: bytes, content_type: str = "application/sparql-results+json") -> Canned:
        servers.append(Canned(status, body, content_type))
        return servers[-1]

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


EMPTY_JSON = b'{"head":{"vars":["x"]},"results":{"bindings":[]}}'

# --------------------------------------------------------------------------- resolving


def test_resolve_library_name_file_and_inline(tmp_path):
    top = next(q for q in list_queries() if q.name == "top-genes")
    assert resolve_query("top-genes") == resolve_query("top-genes.rq") == top.text
    assert Path(top.path).read_text("utf-8") == top.text
    query_file = tmp_path / "mine.rq"
    query_file.write_text("SELECT * WHERE { ?s ?p ?o } LIMIT 1", "utf-8")
    assert resolve_query(str(query_file)) == "SELECT * WHERE { ?s ?p ?o } LIMIT 1"
    for inline in ("SELECT ?s WHERE { ?s ?p ?o }", "  prefix kg: <x:> ask { ?s ?p ?o }",
                   "# hi\nCONSTRUCT WHERE { ?s ?p ?o }", "DESCRIBE <http://example.org/x>"):
        assert resolve_query(inline) == inline


def test_unknown_query_name_lists_close_matches():
    with pytest.raises(QueryError) as caught:
        resolve_query("top-gene")
    message = str(caught.value)
    assert "\n" not in message and "top-genes" in message
    with pytest.raises(QueryError, match="unknown query 'zzzz'"):
        resolve_query("zzzz")
    for name in ("ask", "select-genes", "top-genes.rq "):  # words, not SPARQL
        with pytest.raises(QueryError, match="unknown query"):
            resolve_query(name)
    with pytest.raises(QueryError, match="no such query file"):
        resolve_query("nowhere/q.rq")


# --------------------------------------------------------------------------- parameters


@pytest.mark.parametrize("value,term", [
    ("<https://identifiers.org/ncbigene/7157>", ox.NamedNode("https://identifiers.org/ncbigene/7157")),
    ("ncbigene:7157", ox.NamedNode("https://identifiers.org/ncbigene/7157")),
    ("pfocr:PMC1__F1.html", ox.NamedNode("https://pfocr.wikipathways.org/figures/PMC1__F1.html")),
    ("https://doi.org/10.1/x", ox.NamedNode("https://doi.org/10.1/x")),
    ("7157", ox.Literal("7157", datatype=ox.NamedNode(XSD + "integer"))),
    ("-2.5", ox.Literal("-2.5", datatype=ox.NamedNode(XSD + "decimal"))),
    ('"7157"', ox.Literal("7157")),
    ("TP53", ox.Literal("TP53")),
    ("OBS proteins", ox.Literal("OBS proteins")),
    ("unknownprefix:x", ox.Literal("unknownprefix:x")),
])
def test_parse_term(value, term):
    assert parse_term(value) == term


INJECTIONS = [
    'TP53" } ; DROP ALL ; #',
    'TP53" } UNION { ?s ?p ?o } #',
    "TP53' } ; DROP ALL ; #",
    '"x" } ; DROP ALL ; #"',
    "TP53 } . ?figure ?p ?o . { #",
    "\\\" } ; DROP ALL",
    "x\\u0022 } ; CLEAR ALL #",
]
REJECTED = [
    "<x> } UNION {",
    "<http://example.org/a> } UNION { ?s ?p ?o",
    "<http://example.org/a b>",
    "<http://example.org/a>>",
    "TP53\n} ; DROP ALL ; #",
    "TP53\r\n# comment",
    "TP53\u2028} UNION {",
    "TP53\t}",
    "ncbigene:1>} UNION {<x:y",
    "ncbigene:1 } UNION { ?s ?p ?o",
    "ncbigene:7157\"",
    "",
    "   ",
]


@pytest.mark.parametrize("value", INJECTIONS)
def test_injection_is_one_literal(sample_store, value):
    before = store_quads(sample_store)
    echo = run_query(ECHO, store=sample_store, params={"x": value})
    assert echo.rows == [{"x": parse_term(value)}]
    assert isinstance(parse_term(value), ox.Literal)
    assert value.strip().strip('"') in parse_term(value).value
    result = run_query(resolve_query("figures-of-gene"), store=sample_store, params={"gene": value})
    assert result.rows == []
    assert store_quads(sample_store) == before


@pytest.mark.parametrize("value", REJECTED)
def test_injection_is_rejected(sample_store, value):
    before = store_quads(sample_store)
    with pytest.raises(QueryError) as caught:
        run_query(resolve_query("figures-of-gene"), store=sample_store, params={"gene": value})
    assert "\n" not in str(caught.value) and "gene" in str(caught.value)
    assert store_quads(sample_store) == before


@pytest.mark.parametrize("value", INJECTIONS[:4])
def test_injection_remote(endpoint, value):
    before = remote_count(endpoint)
    assert run_query(ECHO, endpoint=endpoint, params={"x": value}).rows == [{"x": parse_term(value)}]
    assert run_query(resolve_query("figures-of-gene"), endpoint=endpoint, params={"gene": value}).rows == []
    assert remote_count(endpoint) == before


def test_undeclared_and_missing_parameters(sample_store):
    with pytest.raises(QueryError, match="unknown parameter 'gene'.*no parameters"):
        run_query(resolve_query("top-genes"), store=sample_store, params={"gene": "TP53"})
    with pytest.raises(QueryError, match="unknown parameter 'figid'.*figure"):
        run_query(resolve_query("genes-of-figure"), store=sample_store, params={"figid": "x"})
    with pytest.raises(QueryError, match="missing parameter: --param gene="):
        run_query(resolve_query("figures-of-gene"), store=sample_store)
    with pytest.raises(QueryError, match="unknown parameter"):
        run_query("SELECT ?x WHERE { }", store=sample_store, params={"x": "1"})


def test_values_block_goes_into_every_where_group():
    text = resolve_query("figures-of-gene")
    bound = bind_params(text, {"gene": "LRP6"})
    assert bound.count('VALUES (?gene) { ("LRP6") }') == 2  # main query and its sub-select
    tricky = ('# t\n# param: x — x (1)\nPREFIX ex: <http://ex.org/where#>\nSELECT ?where # WHERE {\n'
              'WHERE { ?where ex:WHERE "WHERE {" }')
    assert bind_params(tricky, {"x": "a"}).endswith('\nWHERE { VALUES (?x) { ("a") }  ?where ex:WHERE "WHERE {" }')
    construct = "# c\n# param: x — x (1)\nCONSTRUCT { ?x ?x ?x } { ?s ?p ?o }"
    assert bind_params(construct, {"x": "a"}).endswith('} { VALUES (?x) { ("a") }  ?s ?p ?o }')
    no_where = "# c\n# param: x — x (1)\nSELECT ?x { { SELECT ?x { ?x ?p ?o } } }"  # WHERE is optional
    assert bind_params(no_where, {"x": "a"}).count('VALUES (?x) { ("a") }') == 2
    for query in (text, tricky, construct, no_where):  # no line breaks added: error lines stay right
        assert bind_params(query, {query.split("param: ")[1].split()[0]: "a"}).count("\n") == query.count("\n")


def test_params_by_iri_id_and_symbol_agree(sample_store):
    text = resolve_query("figures-of-gene")
    answers = [run_query(text, store=sample_store, params={"gene": g}).rows
               for g in ("4040", "ncbigene:4040", "<https://identifiers.org/ncbigene/4040>", "lrp6", '"4040"')]
    assert answers[0] and all(a == answers[0] for a in answers)


# --------------------------------------------------------------------------- running


def test_ask_and_construct_local_and_remote(sample_store, endpoint):
    ask = f'ASK {{ ?f <http://purl.org/dc/terms/identifier> "{LRP6_FIGURE}" }}'
    assert run_query(ask, store=sample_store).boolean is True
    assert run_query(ask, endpoint=endpoint).boolean is True
    construct = ("CONSTRUCT { ?f <http://example.org/gene> ?g } WHERE { ?f "
                 "<https://w3id.org/pfocr-kg/vocab#mentionsGene> ?g }")
    local = run_query(construct, store=sample_store)
    remote = run_query(construct, endpoint=endpoint)
    assert local.variables == remote.variables == ["subject", "predicate", "object"]
    key = lambda r: (r["subject"].value, r["object"].value)  # noqa: E731
    assert sorted(map(key, remote.rows)) == sorted(set(map(key, local.rows)))


def test_syntax_error_is_one_line(sample_store):
    with pytest.raises(QueryError) as caught:
        run_query("SELECT * WHERE { ?s ?p }", store=sample_store)
    assert str(caught.value).startswith("SPARQL syntax error") and "\n" not in str(caught.value)


def test_updates_do_not_run_as_queries(sample_store):
    before = store_quads(sample_store)
    with pytest.raises(QueryError):
        run_query("DROP ALL", store=sample_store)
    assert store_quads(sample_store) == before


def test_missing_store(tmp_path):
    with pytest.raises(StoreError, match="no store at"):
        run_query("ASK {}", store=tmp_path / "none")
    assert not (tmp_path / "none").exists()


def test_long_queries_are_posted_short_ones_sent_by_get(canned):
    server = canned(200, EMPTY_JSON)
    run_query("SELECT ?x WHERE { }", endpoint=server.url)
    long_query = "SELECT ?x WHERE { }\n" + "# padding\n" * 300
    run_query(long_query, endpoint=server.url)
    (get, path, _), (post, _, body) = server.requests
    assert get == "GET" and "query=SELECT" in path
    assert post == "POST" and urllib.parse.parse_qs(body.decode())["query"] == [long_query]


def test_remote_http_errors_from_real_server(oxigraph_server, endpoint):
    with pytest.raises(RemoteError) as caught:
        run_query("SELECT * WHERE { ?s ?p }", endpoint=endpoint)
    message = str(caught.value)
    assert "HTTP 400" in message and "error at 1:" in message and "\n" not in message
    with pytest.raises(RemoteError, match="HTTP 404: GET /nothing"):
        run_query("ASK {}", endpoint=f"{oxigraph_server.url}/nothing")
    # the server cannot reach the SERVICE it is asked to call: 500 with its reason
    service = f"ASK {{ SERVICE <http://127.0.0.1:{closed_port()}/sparql> {{ ?s ?p ?o }} }}"
    with pytest.raises(RemoteError, match="HTTP 500: .*[Cc]onnection refused"):
        run_query(service, endpoint=endpoint)


def test_malformed_results_from_real_server(endpoint):
    # oxigraph starts streaming JSON, then the SERVICE call fails: a truncated document
    service = f"SELECT * WHERE {{ SERVICE <http://127.0.0.1:{closed_port()}/sparql> {{ ?s ?p ?o }} }}"
    with pytest.raises(RemoteError, match="malformed SPARQL results"):
        run_query(service, endpoint=endpoint)


@pytest.mark.parametrize("status,body,expected", [
    (503, b"Service Unavailable: warming up\nsecond line", "HTTP 503: Service Unavailable: warming up"),
    (500, b"\n  Internal oops\nmore", "HTTP 500: Internal oops"),
    (401, b"", "HTTP 401"),
    (200, b"<html>not json</html>", "malformed SPARQL results"),
    (200, b'{"head": {"vars": ["x"]}, "results": {"bindings": [{"x": {"type": "weird", "value": "1"}}]}}',
     "malformed SPARQL results"),
    (200, b'{"head": {}}', "malformed SPARQL results"),
])
def test_remote_failures_are_one_line(canned, status, body, expected):
    server = canned(status, body)
    with pytest.raises(RemoteError) as caught:
        run_query("SELECT ?x WHERE { }", endpoint=server.url)
    assert expected in str(caught.value) and "\n" not in str(caught.value)


def test_unreachable_and_silent_endpoints():
    with pytest.raises(RemoteError, match="cannot reach http://127.0.0.1:[0-9]+/query: .*[Rr]efused"):
        run_query("ASK {}", endpoint=f"http://127.0.0.1:{closed_port()}/query", timeout=5)
    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/query"
        with pytest.raises(RemoteError, match="did not answer within 0.5 s"):
            run_query("ASK {}", endpoint=url, timeout=0.5)
    with pytest.raises(RemoteError, match="not an http"):
        run_query("ASK {}", endpoint="ftp://127.0.0.1/x")


# --------------------------------------------------------------------------- formats

TRICKY = ('SELECT ?text ?n ?unbound ?iri ?lang ?date WHERE { BIND("a,b \\"q\\"\\tx\\nline" AS ?text) '
          'BIND(42 AS ?n) BIND(<https://identifiers.org/ncbigene/4040> AS ?iri) BIND("chat"@fr AS ?lang) '
          'BIND("2001-01-01"^^<http://www.w3.org/2001/XMLSchema#date> AS ?date) }')


@pytest.fixture(scope="module")
def tricky(sample_store) -> QueryResult:
    return run_query(TRICKY, store=sample_store)


def test_csv_is_w3c(tricky):
    text = format_results(tricky, "csv")
    assert text == ('text,n,unbound,iri,lang,date\r\n'
                    '"a,b ""q""\tx\nline",42,,https://identifiers.org/ncbigene/4040,chat,2001-01-01\r\n')
    assert list(csv.reader(io.StringIO(text, newline=""))) == [
        ["text", "n", "unbound", "iri", "lang", "date"],
        ['a,b "q"\tx\nline', "42", "", "https://identifiers.org/ncbigene/4040", "chat", "2001-01-01"]]


def test_tsv_is_w3c(tricky):
    assert format_results(tricky, "tsv") == (
        "?text\t?n\t?unbound\t?iri\t?lang\t?date\n"
        '"a,b \\"q\\"\\tx\\nline"\t42\t\t<https://identifiers.org/ncbigene/4040>\t"chat"@fr\t'
        '"2001-01-01"^^<http://www.w3.org/2001/XMLSchema#date>\n')


def test_json_is_w3c(tricky):
    data = json.loads(format_results(tricky, "json"))
    assert data == {"head": {"vars": ["text", "n", "unbound", "iri", "lang", "date"]},
                    "results": {"bindings": [{
                        "text": {"type": "literal", "value": 'a,b "q"\tx\nline'},
                        "n": {"type": "literal", "value": "42", "datatype": XSD + "integer"},
                        "iri": {"type": "uri", "value": "https://identifiers.org/ncbigene/4040"},
                        "lang": {"type": "literal", "value": "chat", "xml:lang": "fr"},
                        "date": {"type": "literal", "value": "2001-01-01", "datatype": XSD + "date"}}]}}
    assert json.loads(format_results(QueryResult(boolean=False), "json")) == {"head": {}, "boolean": False}


def test_json_output_equals_server_json(sample_store, endpoint):
    """Our JSON for the local answer parses to what the server's own JSON says."""
    query = resolve_query("figures-per-year")
    request = urllib.request.Request(endpoint, data=urllib.parse.urlencode({"query": query}).encode(),
                                     headers={"Accept": "application/sparql-results+json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        server = json.load(response)
    ours = json.loads(format_results(run_query(query, store=sample_store), "json"))
    assert ours["results"] == server["results"] and set(ours["head"]["vars"]) == set(server["head"]["vars"])


def test_table_is_aligned_with_prefixes_and_footer(tricky, sample_store):
    text = format_results(tricky, "table")
    lines = text.splitlines()
    assert lines[0].split() == ["text", "n", "unbound", "iri", "lang", "date"]
    assert set(lines[1]) == {"-", " "}
    assert "ncbigene:4040" in lines[2] and "chat@fr" in lines[2] and "\t" not in lines[2]
    assert lines[-1] == "(1 row)"
    genes = run_query(resolve_query("genes-of-figure"), store=sample_store, params={"figure": LRP6_FIGURE})
    table = format_results(genes, "table").splitlines()
    assert table[-1] == f"({len(genes.rows)} rows)"
    start = table[0].index("symbol")
    assert all(line[start:].split()[0] == row["symbol"].value for line, row in zip(table[2:], genes.rows))
    assert "NCBITaxon:9606" in table[2]
    assert format_results(QueryResult(boolean=True), "table") == "true\n"
    assert format_results(QueryResult(["x"], []), "table").splitlines()[-1] == "(0 rows)"


def test_unknown_format(tricky):
    with pytest.raises(QueryError):
        format_results(tricky, "xml")


# --------------------------------------------------------------------------- the command


def test_cli_list(capsys):
    assert main(["query", "--list"]) == 0
    out = capsys.readouterr().out
    for q in list_queries():
        line = next(line for line in out.splitlines() if line.split()[0] == q.name)
        assert q.description in line
        assert all(f"{p}=" in line for p in q.params)


def test_cli_top_genes_and_formats(capsys, sample_store):
    assert main(["query", "top-genes", "--store", str(sample_store)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == ["gene", "symbol", "figures"]
    assert out.splitlines()[-1] == "(25 rows)" and "ncbigene:" in out
    expected = run_query(resolve_query("top-genes"), store=sample_store)
    for fmt in ("csv", "tsv", "json", "table"):
        assert main(["query", "top-genes", "--store", str(sample_store), "--format", fmt]) == 0
        assert capsys.readouterr().out == format_results(expected, fmt)


def test_cli_params(capsys, sample_store, endpoint):
    args = ["query", "genes-of-figure", "--param", f"figure={LRP6_FIGURE}", "--format", "csv"]
    assert main(args + ["--store", str(sample_store)]) == 0
    local = capsys.readouterr().out
    assert "https://identifiers.org/ncbigene/4040,4040,LRP6," in local
    assert main(args + ["--endpoint", endpoint]) == 0
    assert capsys.readouterr().out == local
    assert main(["query", "figures-gene-disease", "--store", str(sample_store), "--param", "gene=lrp6",
                 "--param", "disease=OBS proteins", "--format", "tsv"]) == 0
    assert LRP6_FIGURE in capsys.readouterr().out


@pytest.mark.parametrize("args,message", [
    (["query", "top-gene"], "did you mean top-genes"),
    (["query", "SELECT * WHERE { ?s ?p }"], "SPARQL syntax error"),
    (["query", "figures-of-gene"], "missing parameter: --param gene="),
    (["query", "top-genes", "--param", "gene=TP53"], "unknown parameter 'gene'"),
    (["query", "figures-of-gene", "--param", "gene=<x> } UNION {"], "not a valid <IRI>"),
    (["query", "figures-of-gene", "--param", "gene"], "--param takes NAME=VALUE"),
])
def test_cli_errors_are_one_line(capsys, sample_store, args, message):
    assert main(args + ["--store", str(sample_store)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and captured.err.startswith("kg: ") and message in captured.err


def test_cli_missing_store_and_remote_failures(capsys, tmp_path, endpoint):
    cases = [
        (["--store", str(tmp_path / "absent")], "ASK {}", "no store at"),
        (["--endpoint", f"http://127.0.0.1:{closed_port()}/query", "--timeout", "5"], "ASK {}", "cannot reach"),
        (["--endpoint", endpoint], "SELECT * WHERE { ?s ?p }", "HTTP 400: error at 1:"),
        (["--endpoint", endpoint.rsplit("/", 1)[0] + "/nothing"], "ASK {}", "HTTP 404"),
    ]
    for where, query, message in cases:
        assert main(["query", query, *where]) == 2
        captured = capsys.readouterr()
        assert captured.err.count("\n") == 1 and message in captured.err, captured.err


# --------------------------------------------------------------------------- kg's prefixes


def test_inline_sparql_has_kg_prefixes(sample_store, endpoint):
    """The prefixes results are printed with work in queries without PREFIX lines."""
    inline = "SELECT ?f WHERE { ?f kg:mentionsGene ncbigene:4040 ; a kg:PathwayFigure }"
    full = ("SELECT ?f WHERE { ?f <https://w3id.org/pfocr-kg/vocab#mentionsGene> <https://identifiers.org/ncbigene/4040> ;"
            " a <https://w3id.org/pfocr-kg/vocab#PathwayFigure> }")
    local = run_query(inline, store=sample_store).rows
    assert local and local == run_query(full, store=sample_store).rows
    assert sorted(r["f"].value for r in run_query(inline, endpoint=endpoint).rows) == sorted(r["f"].value for r in local)
    printed = format_results(run_query("SELECT ?g WHERE { ?f kg:mentionsGene ?g } LIMIT 1", store=sample_store), "table")
    gene = printed.splitlines()[2].strip()
    assert gene.startswith("ncbigene:")  # what the table shows can be pasted back into a query
    assert run_query(f"ASK {{ ?f kg:mentionsGene {gene} }}", store=sample_store).boolean is True


def test_prefixes_only_where_missing():
    text, added = declare_prefixes("# note: kg:x in a comment\nSELECT * { ?s dcterms:title \"kg:no\" ; <http://x/kg:no> ?o }")
    assert text.startswith("PREFIX dcterms: <http://purl.org/dc/terms/> # note") and added == len(text.split("#")[0])
    assert "PREFIX kg:" not in text  # kg: occurs only in a comment, a string and an IRI
    own = "PREFIX kg: <http://example.org/mine#>\nSELECT * { ?s kg:p ?o }"
    assert declare_prefixes(own) == (own, 0)  # a query's own declaration wins
    based = "BASE <http://example.org/>\nprefix rdfs: <http://www.w3.org/2000/01/rdf-schema#>\nSELECT * { <a> rdfs:label ?l ; kg:p ?o }"
    text, _ = declare_prefixes(based)
    assert text.count("PREFIX") == 1 and "kg: <https://w3id.org/pfocr-kg/vocab#>" in text
    assert text.count("\n") == based.count("\n")
    assert declare_prefixes("SELECT * { ?s ?p ?o }") == ("SELECT * { ?s ?p ?o }", 0)


def test_library_and_rq_files_get_prefixes_too(tmp_path, sample_store):
    query_file = tmp_path / "mine.rq"
    query_file.write_text("# Genes of LRP6's figure.\nSELECT DISTINCT ?g WHERE {\n  ?f dcterms:identifier "
                          f'"{LRP6_FIGURE}" ; kg:mentionsGene ?g }}\n', "utf-8")
    rows = run_query(str(query_file), store=sample_store).rows
    assert {"g": ox.NamedNode("https://identifiers.org/ncbigene/4040")} in rows
    for q in list_queries():  # the library declares what it uses: nothing added
        assert declare_prefixes(q.text) == (q.text, 0), q.name


def test_error_positions_are_those_of_the_query_as_written(sample_store, endpoint):
    query = "SELECT * WHERE { ?s kg:p }\n"
    for where in ({"store": sample_store}, {"endpoint": endpoint}):
        with pytest.raises((QueryError, RemoteError)) as caught:
            run_query(query, **where)
        assert "1:26" in str(caught.value), str(caught.value)  # as pyoxigraph puts it for the query as written
    with pytest.raises(QueryError, match="at 2:"):
        run_query("SELECT * WHERE {\n ?s kg:p }", store=sample_store)


# --------------------------------------------------------------------------- repeated parameters


def _figids(result) -> set[str]:
    return {r["figid"].value for r in result.rows}


@pytest.mark.parametrize("where", ["store", "endpoint"])
def test_several_values_bind_every_value(sample_store, endpoint, where):
    on = {"store": sample_store} if where == "store" else {"endpoint": endpoint}
    one = _figids(run_query("figures-of-gene", params={"gene": "LRP6"}, **on))
    other = _figids(run_query("figures-of-gene", params={"gene": "SRC"}, **on))
    assert one and other and not one & other
    both = run_query("figures-of-gene", params={"gene": ["LRP6", "SRC"]}, **on)
    assert _figids(both) == one | other  # rows for both values
    assert {r["symbol"].value.upper() for r in both.rows} == {"LRP6", "SRC"}  # (mouse Src too)
    assert run_query("figures-of-gene", params={"gene": ["LRP6", "LRP6"]}, **on).rows == \
        run_query("figures-of-gene", params={"gene": "LRP6"}, **on).rows  # a repeated value counts once


def test_several_values_with_a_single_valued_parameter(sample_store):
    """gene × disease: every combination (figures-gene-disease binds ?gene in a sub-select)."""
    alone = run_query("figures-gene-disease", store=sample_store, params={"gene": "lrp6", "disease": "OBS proteins"})
    both = run_query("figures-gene-disease", store=sample_store,
                     params={"gene": ["lrp6", "no-such-gene"], "disease": "OBS proteins"})
    assert alone.rows and both.rows == alone.rows


def test_several_values_refused_where_they_cannot_be_matched_up(sample_store):
    """figures-with-all-genes uses ?symbols in the query and in a sub-select: refused, not reduced."""
    with pytest.raises(QueryError, match=r"parameter symbols has 2 values.*2 separate groups.*one value"):
        run_query("figures-with-all-genes", store=sample_store, params={"symbols": ["LRP6", "AKT1"]})


def test_cli_repeated_param(capsys, sample_store, endpoint):
    args = ["query", "figures-of-gene", "--param", "gene=LRP6", "--param", "gene=SRC", "--format", "csv"]
    assert main(args + ["--store", str(sample_store)]) == 0
    local = capsys.readouterr().out
    assert ",LRP6," in local and ",SRC," in local
    assert main(args + ["--endpoint", endpoint]) == 0
    assert capsys.readouterr().out == local
    assert main(["query", "figures-with-all-genes", "--param", "symbols=LRP6", "--param", "symbols=AKT1",
                 "--store", str(sample_store)]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1 and "symbols has 2 values" in captured.err


def test_cli_output_file(tmp_path, capsys, sample_store):
    out = tmp_path / "genes.csv"
    assert main(["query", "top-genes", "--store", str(sample_store), "--format", "csv", "-o", str(out)]) == 0
    assert capsys.readouterr().out == ""
    assert out.read_bytes() == format_results(run_query("top-genes", store=sample_store), "csv").encode("utf-8")
    query_file = tmp_path / "q.rq"
    query_file.write_text("ASK {}", "utf-8")
    assert main(["query", str(query_file), "--store", str(sample_store), "-o", str(query_file)]) == 2
    assert query_file.read_text("utf-8") == "ASK {}" and "input" in capsys.readouterr().err
