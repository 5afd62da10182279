"""SPARQL over the embedded store or a remote endpoint, with a library of named queries.

Library queries are the ``*.rq`` files of the ``queries/`` folder (packaged as
``kg.queries``).  Each starts with ``#`` lines: a one-sentence description, then
``# param: NAME — meaning (example)`` lines.  Parameters are never pasted into the query
text: each value is parsed into one RDF term (see :func:`parse_term`) and bound by a
``VALUES`` block inserted at the start of the query's pattern group and of every
sub-select's (several values: :func:`bind_params`), so the same text runs locally and on
any SPARQL 1.1 endpoint.

The library is also published as SPARQL examples in the form of the SIB / UniProt /
WikiPathways ``sparql-examples`` (SHACL ``sh:SPARQLExecutable`` nodes with ``rdfs:comment``,
``sh:select``, ``schema:keywords``): :func:`examples_turtle`, ``kg query --list --format ttl``,
and the generated file ``queries/examples.ttl`` (kept equal to it by a test).

Every query (inline, ``.rq`` file or library) may use kg's prefixes without declaring
them: the ones it uses and does not declare are added (:func:`declare_prefixes`), from
the same table results are printed with (:data:`kg.vocab.PREFIXES`).

Results are :class:`QueryResult` objects holding pyoxigraph terms, filled identically
from the local store and from SPARQL JSON results, so both can be compared directly.
Queries see the union of the store's graphs as their default graph.
"""

from __future__ import annotations

import io
import itertools
import json
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Mapping, Sequence, Union

import pyoxigraph as ox

from .errors import QueryError, RemoteError, first_line
from .vocab import PREFIXES, XSD

Term = Union[ox.NamedNode, ox.Literal, ox.BlankNode]

POST_THRESHOLD = 2000
"""Queries longer than this (in UTF-8 bytes) are sent with HTTP POST."""

_XSD_STRING = XSD + "string"
_XSD_INTEGER = XSD + "integer"
_XSD_DECIMAL = XSD + "decimal"


@dataclass(frozen=True)
class LibraryQuery:
    """One ``.rq`` file of the query library: its description (first ``#`` line), its
    ``# param: NAME — meaning (example)`` parameters, its ``# keywords: a, b`` and its text."""

    name: str
    path: str
    description: str
    params: list[str]
    text: str
    keywords: list[str] = field(default_factory=list)
    param_help: dict[str, str] = field(default_factory=dict)
    #: Its statistics variant (``queries/statistics/NAME.rq``): the same rows, read from a
    #: store's statistics graph (:mod:`kg.statistics`); None if it has none.
    statistics: str | None = None
    #: ``(predicate, object or None)`` patterns of the triples those statistics count: a
    #: loaded graph holding such triples makes kg run the plain query (``# counts:`` line).
    counts: tuple[tuple[str, str | None], ...] = ()


@dataclass
class QueryResult:
    """Variables and rows (``{variable: term}``, unbound variables left out), or ``boolean`` for ASK.

    CONSTRUCT/DESCRIBE results come as rows over ``subject``, ``predicate``, ``object``."""

    variables: list[str] = field(default_factory=list)
    rows: list[dict[str, Term]] = field(default_factory=list)
    boolean: bool | None = None


# --------------------------------------------------------------------------- library

_COUNTS_LINE = re.compile(r"#\s*counts:\s*(.*)")
_PARAM_LINE = re.compile(r"#\s*param:\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:[—–:-]+\s*)?(.*)")
_KEYWORDS_LINE = re.compile(r"#\s*keywords:\s*(.*)")


def _header(text: str) -> tuple[str, list[tuple[str, str]]]:
    """Description and ``(name, meaning)`` params from the leading ``#`` lines of ``text``."""
    description, params = "", []
    for line in _header_lines(text):
        match = _PARAM_LINE.match(line)
        if match:
            params.append((match.group(1), match.group(2).strip()))
        elif not description and not _KEYWORDS_LINE.match(line) and not _COUNTS_LINE.match(line):
            description = line.lstrip("#").strip()
    return description, params


def _header_lines(text: str) -> list[str]:
    """The leading ``#`` lines of ``text`` (blank lines skipped), stripped."""
    lines = []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        if not line.startswith("#"):
            break
        lines.append(line)
    return lines


def _keywords(text: str) -> list[str]:
    """The comma-separated words of the ``# keywords:`` header lines of ``text``."""
    found = []
    for line in _header_lines(text):
        match = _KEYWORDS_LINE.match(line)
        if match:
            found += [word.strip() for word in match.group(1).split(",") if word.strip()]
    return list(dict.fromkeys(found))


def _counts(text: str) -> tuple[tuple[str, str | None], ...]:
    """The ``# counts: kg:mentionsGene, a kg:PathwayFigure`` patterns of a statistics
    variant, as ``(predicate IRI, object IRI or None)``."""
    found: list[tuple[str, str | None]] = []
    for line in _header_lines(text):
        match = _COUNTS_LINE.match(line)
        for item in match.group(1).split(",") if match else ():
            words = item.split()
            if len(words) == 2 and words[0] == "a":
                found.append((_RDF_TYPE, _expand(words[1])))
            elif len(words) == 1:
                found.append((_expand(words[0]), None))
            elif words:
                raise QueryError(f"bad '# counts:' item {item.strip()!r} (give prefix:name or 'a prefix:name')")
    return tuple(found)


_RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"


def _expand(name: str) -> str:
    prefix, _, local = name.partition(":")
    if prefix not in PREFIXES:
        raise QueryError(f"unknown prefix in '# counts:' item {name!r}")
    return PREFIXES[prefix] + local


def list_queries() -> list[LibraryQuery]:
    """The library queries, sorted by name, each with its statistics variant if it has one."""
    found = []
    folder = resources.files("kg.queries")
    variants = folder.joinpath("statistics")
    for entry in folder.iterdir():
        if entry.name.endswith(".rq") and entry.is_file():
            text = entry.read_text("utf-8")
            description, params = _header(text)
            variant = variants.joinpath(entry.name)
            stats = variant.read_text("utf-8") if variant.is_file() else None
            found.append(LibraryQuery(entry.name[:-3], str(entry), description, [p for p, _ in params], text,
                                      _keywords(text), dict(params), stats, _counts(stats) if stats else ()))
    return sorted(found, key=lambda q: q.name)


# --------------------------------------------------------------------------- SPARQL examples

#: Where the library's SPARQL examples are named: ``<EXAMPLES_BASE><query name>``.
EXAMPLES_BASE = "https://w3id.org/pfocr-kg/queries/"
_EXAMPLE_FORMS = {  # query form -> (classes, property), as the sparql-examples write them
    "SELECT": ("sh:SPARQLExecutable, sh:SPARQLSelectExecutable", "sh:select"),
    "ASK": ("sh:SPARQLExecutable, sh:SPARQLAskExecutable", "sh:ask"),
    "CONSTRUCT": ("sh:SPARQLExecutable, sh:SPARQLConstructExecutable", "sh:construct"),
    "DESCRIBE": ("sh:SPARQLExecutable, spex:SPARQLDescribeExecutable", "spex:describe"),
}


def param_example(meaning: str) -> str | None:
    """The example value of a ``# param:`` meaning: the first of the alternatives in its final
    parentheses (``gene symbol ... (LRP6, 4040 or ncbigene:4040)`` -> ``LRP6``)."""
    match = re.search(r"\(([^()]*)\)\s*$", meaning)
    if not match:
        return None
    first = re.split(r",\s+|\s+or\s+", match.group(1).strip())[0].strip()
    return first or None


def example_query(query: LibraryQuery) -> str:
    """``query`` as a runnable SPARQL example: each parameter bound (``VALUES``) to the
    example value of its ``# param:`` line, the ``#`` header left out (it becomes the
    example's comment and keywords), every prefix declared."""
    params = {}
    for name in query.params:
        example = param_example(query.param_help.get(name, ""))
        if example is None:
            raise QueryError(f"library query {query.name}: parameter {name} has no example value in parentheses")
        params[name] = example
    text = bind_params(query.text, params)
    lines = text.splitlines()
    while lines and (not lines[0].strip() or lines[0].lstrip().startswith("#")):
        lines.pop(0)
    return declare_prefixes("\n".join(lines).strip() + "\n")[0]


def _turtle_long_string(text: str) -> str:
    """``text`` as a Turtle ``\"\"\"long string\"\"\"``: backslashes escaped, and each ``"``
    that starts a run of quotes or ends the text (so ``\"\"\"`` never appears inside)."""
    out = []
    for i, char in enumerate(text):
        if char == "\\":
            out.append("\\\\")
        elif char == '"' and (i + 1 == len(text) or text[i + 1] == '"'):
            out.append('\\"')
        else:
            out.append(char)
    return '"""' + "".join(out) + '"""'


def _turtle_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a valid Turtle short string


def examples_turtle() -> str:
    """The query library as SPARQL examples, in Turtle: one ``sh:SPARQLExecutable`` per
    query (``sh:SPARQLSelectExecutable`` ... by its form) with ``rdfs:label`` (its name),
    ``rdfs:comment`` (its question and parameters), ``sh:select`` (runnable text, parameters
    bound to their examples), ``schema:keywords`` and ``sh:prefixes`` (kg's prefix table)."""
    out = [
        "# kg's query library as SPARQL examples (the form of the SIB / UniProt / WikiPathways",
        "# sparql-examples). Generated by kg.query.examples_turtle(): `kg query --list --format ttl`.",
        "",
        f"@prefix ex: <{EXAMPLES_BASE}> .",
        "@prefix owl: <http://www.w3.org/2002/07/owl#> .",
        "@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .",
        "@prefix schema: <https://schema.org/> .",
        "@prefix sh: <http://www.w3.org/ns/shacl#> .",
        "@prefix spex: <https://purl.expasy.org/sparql-examples/ontology#> .",
        "@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .",
        "",
    ]
    for query in list_queries():
        form = query_form(query.text) or "SELECT"
        classes, prop = _EXAMPLE_FORMS[form]
        comment = query.description
        for name in query.params:
            help = query.param_help.get(name, "")
            comment += f" Parameter ?{name}: {help}; this example binds {_turtle_string(param_example(help) or '')}."
        out += [f"ex:{query.name} a {classes} ;",
                f"    rdfs:label {_turtle_string(query.name)} ;",
                f"    rdfs:comment {_turtle_string(comment)}@en ;",
                "    sh:prefixes ex:prefixes ;",
                f"    {prop} {_turtle_long_string(example_query(query))} ;"]
        if query.keywords:
            out.append(f"    schema:keywords {', '.join(_turtle_string(k) for k in query.keywords)} ;")
        out[-1] = out[-1][:-2] + " ."
        out.append("")
    out.append("ex:prefixes a owl:Ontology ;")
    out.append("    rdfs:comment \"The prefixes kg declares for every query and prints results with (kg.vocab.PREFIXES).\"@en ;")
    declarations = [f"[ sh:prefix {_turtle_string(prefix)} ; sh:namespace \"{namespace}\"^^xsd:anyURI ]"
                    for prefix, namespace in PREFIXES.items()]
    out.append("    sh:declare " + " ,\n        ".join(declarations) + " .")
    return "\n".join(out) + "\n"


_SPARQL_START = re.compile(r"^\s*(?:#[^\n]*\n\s*)*(PREFIX|BASE|SELECT|ASK|CONSTRUCT|DESCRIBE)(?=[\s{*?$<(])",
                           re.IGNORECASE)


def resolve_query(spec: str) -> str:
    """Query text for ``spec``: a path to a ``.rq`` file, a library name (``.rq`` optional),
    or inline SPARQL; :class:`QueryError` for anything else, naming close library matches."""
    return resolve_library(spec)[0]


def resolve_library(spec: str) -> tuple[str, LibraryQuery | None]:
    """:func:`resolve_query`'s text, and the library query ``spec`` names (None for a file
    or inline SPARQL)."""
    if "\n" not in spec and "{" not in spec and _is_file(spec):
        try:
            return Path(spec).read_text("utf-8"), None
        except (OSError, UnicodeDecodeError) as exc:
            raise QueryError(f"cannot read query file {spec}: {exc}") from None
    library = {q.name: q for q in list_queries()}
    name = spec[:-3] if spec.endswith(".rq") else spec
    if name in library:
        return library[name].text, library[name]
    if _SPARQL_START.match(spec) or "{" in spec:
        return spec, None
    if "/" in spec or "\\" in spec:
        raise QueryError(f"no such query file: {spec}")
    import difflib

    close = difflib.get_close_matches(name, list(library), n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise QueryError(f"unknown query {spec!r}{hint} (kg query --list shows the library)")


def _is_file(spec: str) -> bool:
    try:
        return Path(spec).is_file()
    except (OSError, ValueError):  # a name too long for a path, NUL bytes...
        return False


# --------------------------------------------------------------------------- parameters

_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")
_ABSOLUTE_IRI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:[^\x00-\x20<>\"{}|^`\\]*")
_LOCAL = re.compile(r"[A-Za-z0-9_.~%:/#@!$&'()*+,;=?-]+")
_INTEGER = re.compile(r"[+-]?[0-9]+")
_DECIMAL = re.compile(r"[+-]?[0-9]*\.[0-9]+")


def parse_term(value: str, name: str = "value") -> Term:
    """One RDF term from a parameter value, or :class:`QueryError`.

    ``<IRI>``, ``prefix:local`` with a prefix of :data:`kg.vocab.PREFIXES` (``ncbigene:7157``),
    a bare ``http(s)://`` IRI, an integer or decimal number, ``"quoted text"`` (always a
    string), else the text as one plain string literal.  Malformed IRIs and control
    characters (newlines...) are refused.
    """
    if _CONTROL.search(value):
        raise QueryError(f"parameter {name}: control characters (newline, tab...) are not allowed")
    text = value.strip()
    if not text:
        raise QueryError(f"parameter {name}: empty value")
    if text.startswith("<"):
        if not (text.endswith(">") and _ABSOLUTE_IRI.fullmatch(text[1:-1])):
            raise QueryError(f"parameter {name}: not a valid <IRI>: {value!r}")
        return _iri(text[1:-1], name)
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        return ox.Literal(text[1:-1])
    if _INTEGER.fullmatch(text):
        return ox.Literal(text, datatype=ox.NamedNode(_XSD_INTEGER))
    if _DECIMAL.fullmatch(text):
        return ox.Literal(text, datatype=ox.NamedNode(_XSD_DECIMAL))
    prefix, colon, local = text.partition(":")
    if colon and prefix in PREFIXES:
        if not _LOCAL.fullmatch(local):
            raise QueryError(f"parameter {name}: not a valid {prefix}: name: {value!r}")
        return _iri(PREFIXES[prefix] + local, name)
    if prefix.lower() in ("http", "https") and local.startswith("//") and _ABSOLUTE_IRI.fullmatch(text):
        return _iri(text, name)
    return ox.Literal(text)


def _iri(text: str, name: str) -> ox.NamedNode:
    try:
        return ox.NamedNode(text)
    except ValueError as exc:
        raise QueryError(f"parameter {name}: not a valid IRI {text!r}: {exc}") from None


_TOKEN = re.compile(
    r"""(?P<skip>\#[^\n]*|"""  # comment
    r"""'''(?:[^'\\]|\\.|'(?!''))*'''|\"\"\"(?:[^"\\]|\\.|"(?!""))*\"\"\"|"""  # long strings
    r"""'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*"|"""  # strings
    r"""<[^<>"{}|^`\\\x00-\x20]*>)"""  # IRIs
    r"""|(?P<var>[?$][A-Za-z0-9_]+)"""
    r"""|(?P<pname>(?P<pfx>[A-Za-z0-9_.-]*):[A-Za-z0-9_.%:\\-]*)"""  # prefixed names
    r"""|(?P<keyword>\b(?:WHERE|SELECT|ASK|CONSTRUCT|DESCRIBE|PREFIX)\b)|(?P<open>\{)|(?P<close>\})""",
    re.IGNORECASE,
)


def query_form(text: str) -> str | None:
    """``SELECT``, ``ASK``, ``CONSTRUCT`` or ``DESCRIBE``: the query's form (its first one)."""
    for token in _TOKEN.finditer(text):
        if token.lastgroup == "keyword" and token.group().upper() not in ("WHERE", "PREFIX"):
            return token.group().upper()
    return None


# --------------------------------------------------------------------------- nesting

#: Deepest nesting of ``{`` ``(`` ``[`` a query may have: Oxigraph's parser recurses once per
#: level and a few thousand levels overflow its stack (a crash, not an error), so deeper
#: queries are refused before they reach it.  Real queries nest a handful of levels.
MAX_NESTING = 64

#: What SPARQL scanners skip before looking at tokens: a prefixed name's escape (ex:a\#b),
#: a comment, long and short strings (shared by :func:`check_nesting` and kg serve's
#: SERVICE/LOAD check).
SPARQL_SKIP = (r"""\\.|#[^\n]*"""
               r"""|'''(?:[^'\\]|\\.|'(?!''))*'''|"{3}(?:[^"\\]|\\.|"(?!""))*"{3}"""
               r"""|'(?:[^'\\\n\r]|\\.)*'|"(?:[^"\\\n\r]|\\.)*\"""")
_NESTING_TOKEN = re.compile(
    SPARQL_SKIP +
    r"""|<[^<>"{}|^`\\\x00-\x20()\[\]]*>"""  # IRIs (no bracket is ever hidden in one: all are counted)
    r"""|(?P<open>[{(\[])|(?P<close>[})\]])""",
    re.DOTALL,
)


def check_nesting(text: str, limit: int = MAX_NESTING) -> None:
    """:class:`QueryError` if ``text`` (a SPARQL query or update) nests groups, brackets or
    parentheses deeper than ``limit``; strings, IRIs and comments are skipped.  Run it
    before parsing: it never calls the parser."""
    depth = 0
    for token in _NESTING_TOKEN.finditer(text):
        kind = token.lastgroup
        if kind == "open":
            depth += 1
            if depth > limit:
                line = text.count("\n", 0, token.start()) + 1
                column = token.start() - (text.rfind("\n", 0, token.start()) + 1) + 1
                raise QueryError(f"query nested deeper than {limit} levels of {{ ( [ (line {line}, "
                                 f"column {column}): refused before parsing")
        elif kind == "close":
            depth = max(depth - 1, 0)


# --------------------------------------------------------------------------- prefixes


def declare_prefixes(text: str) -> tuple[str, int]:
    """``text`` with a ``PREFIX`` declaration for every prefix of :data:`kg.vocab.PREFIXES`
    (the table results are printed with: ``kg:``, ``ncbigene:``, ``dcterms:`` ...) that the
    query uses but does not declare itself; and the number of characters added.

    The declarations go at the very start of the first line, so line numbers in error
    messages stay those of the query as written (:func:`_shift_columns` corrects columns
    on line 1).  A prefix the query declares is left alone, whatever its IRI."""
    declared: set[str] = set()
    used: list[str] = []
    after_prefix = False
    for token in _TOKEN.finditer(text):
        kind = token.lastgroup
        if kind == "skip":
            continue
        if kind == "pname":
            prefix = token.group("pfx")
            if after_prefix:
                declared.add(prefix)
            elif prefix in PREFIXES and prefix not in used:
                used.append(prefix)
        after_prefix = kind == "keyword" and token.group().upper() == "PREFIX"
    missing = [p for p in used if p not in declared]
    if not missing:
        return text, 0
    head = "".join(f"PREFIX {p}: <{PREFIXES[p]}> " for p in missing)
    return head + text, len(head)


_POSITION = re.compile(r"(\bat |-)1:(\d+)")


def _shift_columns(message: str, shift: int) -> str:
    """An error message's line-1 columns as in the query before :func:`declare_prefixes`."""
    if not shift:
        return message
    return _POSITION.sub(lambda m: f"{m.group(1)}1:{max(int(m.group(2)) - shift, 1)}", message)


# --------------------------------------------------------------------------- scopes


@dataclass
class _Scope:
    """The pattern group of the query or of one sub-select: where its ``VALUES`` go."""

    start: int  # offset just after the group's "{"
    variables: set[str] = field(default_factory=set)  # used in the group, sub-selects excluded


def _scopes(text: str) -> list[_Scope]:
    """The query's pattern groups: its own first, then every sub-select's, in text order.

    A group opened right after ``WHERE`` or a query form (``SELECT ... {``: ``WHERE`` is
    optional) starts a scope; a ``CONSTRUCT`` template does not.  Variables between a form
    and its group (the projection) belong to no scope."""
    scopes: list[_Scope] = []
    stack: list[tuple[str, int | None]] = []  # per open "{": its kind and the scope it lies in
    expect: str | None = None  # "body": the next "{" opens a scope; "template": a CONSTRUCT template
    for token in _TOKEN.finditer(text):
        kind = token.lastgroup
        if kind == "keyword":
            word = token.group().upper()
            if word == "CONSTRUCT":
                expect = "template"
            elif word != "PREFIX":
                expect = "body"
        elif kind == "open":
            if expect == "body":
                scopes.append(_Scope(token.end()))
                stack.append(("scope", len(scopes) - 1))
            elif expect == "template":
                stack.append(("template", None))
            else:
                stack.append(("group", stack[-1][1] if stack else None))
            expect = None
        elif kind == "close":
            if stack and stack.pop()[0] == "template":
                expect = "body"
        elif kind == "var" and expect is None and stack and stack[-1][1] is not None:
            scopes[stack[-1][1]].variables.add(token.group()[1:])
    return scopes


def _insertion_points(text: str) -> list[int]:
    """Offsets just after the ``{`` of the query's pattern group and of every sub-select's."""
    return [scope.start for scope in _scopes(text)]


# --------------------------------------------------------------------------- binding


def declared_params(text: str) -> list[str]:
    """Parameters a query accepts: its leading ``# param: NAME — meaning`` lines."""
    return [p for p, _ in _header(text)[1]]


ParamValues = Union[str, Sequence[str]]


def bind_params(text: str, params: Mapping[str, ParamValues] | None) -> str:
    """``text`` with ``VALUES`` blocks binding each parameter to its parsed term(s).

    Every declared ``# param:`` must be given; an undeclared one is a :class:`QueryError`.
    A parameter with one value is bound in every pattern group (the query's and each
    sub-select's).  A parameter with several values (a list) gets one ``VALUES`` row per
    distinct value, in the one group that uses its variable: the answer is that of all the
    values together.  When the variable is used in several groups (the query and a
    sub-select, whose variables SPARQL keeps apart) the values could not be matched up:
    :class:`QueryError`, never a silently reduced binding.  The blocks are inserted without
    line breaks, so line numbers in error messages stay those of ``text``."""
    given = {name: [values] if isinstance(values, str) else list(values) for name, values in (params or {}).items()}
    _, header = _header(text)
    accepted = [p for p, _ in header]
    for name in given:
        if name not in accepted:
            takes = ", ".join(accepted) or "no parameters; declare them with '# param: NAME' lines"
            raise QueryError(f"unknown parameter {name!r} (this query takes: {takes})")
    for name, meaning in header:
        if not given.get(name):
            raise QueryError(f"missing parameter: --param {name}=VALUE ({meaning})")
    if not given:
        return text
    terms = {name: list(dict.fromkeys(parse_term(v, name) for v in given[name])) for name in sorted(given)}
    scopes = _scopes(text)
    if not scopes:  # e.g. DESCRIBE ?x: one trailing VALUES clause, a row per combination
        rows = " ".join(f"({' '.join(map(str, row))})" for row in itertools.product(*terms.values()))
        return f"{text.rstrip()} VALUES ({' '.join('?' + n for n in terms)}) {{ {rows} }}"
    blocks: dict[int, list[str]] = {scope.start: [] for scope in scopes}
    single = {name: found[0] for name, found in terms.items() if len(found) == 1}
    if single:
        block = f"VALUES ({' '.join('?' + n for n in single)}) {{ ({' '.join(map(str, single.values()))}) }}"
        for scope in scopes:
            blocks[scope.start].append(block)
    for name, found in terms.items():
        if len(found) == 1:
            continue
        using = [scope for scope in scopes if name in scope.variables]
        if len(using) > 1:
            raise QueryError(f"parameter {name} has {len(found)} values, but this query uses ?{name} in "
                             f"{len(using)} separate groups (the query and its sub-selects), where several "
                             f"values cannot be matched up: give one value and run the query once per value")
        blocks[(using or scopes)[0].start].append(f"VALUES ?{name} {{ {' '.join(map(str, found))} }}")
    out, last = [], 0
    for point in sorted(p for p, found in blocks.items() if found):
        out += [text[last:point], " ", " ".join(blocks[point]), " "]
        last = point
    out.append(text[last:])
    return "".join(out)


# --------------------------------------------------------------------------- running


def run_query(text: str, *, store: str | Path | None = None, endpoint: str | None = None,
              params: Mapping[str, ParamValues] | None = None, timeout: float = 60.0,
              statistics: bool = True) -> QueryResult:
    """Run a query (a library name, a ``.rq`` path or SPARQL text, see :func:`resolve_query`)
    with ``params`` bound (:func:`bind_params`; a list binds several values), on the store
    at ``store`` or on ``endpoint``.

    kg's prefixes (``kg:``, ``ncbigene:`` ... see :func:`declare_prefixes`) need no
    declaration.  The store is opened read-only and queried over its merged graph
    (:func:`kg.store.query`); ``timeout`` (seconds) bounds each whole ``endpoint`` request.
    A library query named by ``text`` runs as its statistics variant on a store that can
    answer it so (:func:`choose_text`; the same rows, faster), unless ``statistics`` is False."""
    if (store is None) == (endpoint is None):
        raise QueryError("run a query on a store or on an endpoint (exactly one)")
    resolved, library = resolve_library(text)
    check_nesting(resolved)
    query, shift = declare_prefixes(bind_params(resolved, params))
    if endpoint is not None:
        return _run_remote(query, endpoint, timeout, shift)
    variant = None
    if statistics and library is not None and library.statistics is not None:
        variant = (*declare_prefixes(bind_params(library.statistics, params)), library.counts)
    return _run_local(query, store, shift, variant)  # type: ignore[arg-type]


def choose_text(query: LibraryQuery, store) -> str:
    """The text to run ``query`` with on the open ``store``: its statistics variant when the
    store keeps statistics (:func:`kg.statistics.present`) that the triples of its loaded
    graphs cannot make wrong (:func:`kg.statistics.usable`), else the plain text (which also
    runs on dumps and endpoints)."""
    from .statistics import usable

    if query.statistics is not None and usable(store, query.counts):
        return query.statistics
    return query.text


def _run_local(query: str, path: str | Path, shift: int = 0,
               variant: tuple[str, int, tuple[tuple[str, str | None], ...]] | None = None) -> QueryResult:
    from .store import open_store
    from .store import query as store_query

    store = open_store(path, read_only=True)
    try:
        if variant is not None:
            from .statistics import usable

            if usable(store, variant[2]):
                query, shift = variant[0], variant[1]
        answer = store_query(store, query)
        if isinstance(answer, ox.QueryBoolean):
            return QueryResult(boolean=bool(answer))
        if isinstance(answer, ox.QueryTriples):
            return QueryResult(["subject", "predicate", "object"],
                               [{"subject": t.subject, "predicate": t.predicate, "object": t.object}
                                for t in answer])
        names = [v.value for v in answer.variables]
        rows = []
        for solution in answer:
            rows.append({n: solution[n] for n in names if solution[n] is not None})
        return QueryResult(names, rows)
    except SyntaxError as exc:
        raise QueryError(f"SPARQL syntax error: {_shift_columns(first_line(str(exc)), shift)}") from None
    except (OSError, RuntimeError, ValueError) as exc:
        raise QueryError(f"query failed: {first_line(str(exc))}") from None
    finally:
        del store


def _run_remote(query: str, endpoint: str, timeout: float, shift: int = 0) -> QueryResult:
    """The query over the SPARQL 1.1 Protocol: SPARQLWrapper prepares the request (GET, or
    POST for long queries; content negotiation), :func:`kg.http.send` sends it so that the
    whole request (connect, send, answer) ends within ``timeout`` seconds."""
    import http.client
    import urllib.error

    from SPARQLWrapper import GET, JSON, POST, TURTLE, SPARQLWrapper

    from .http import RequestTimeout, send

    if not re.match(r"https?://", endpoint):
        raise RemoteError(f"not an http(s) endpoint URL: {endpoint}")
    graph = query_form(query) in ("CONSTRUCT", "DESCRIBE")
    wrapper = SPARQLWrapper(endpoint, agent="kg (SPARQLWrapper)")
    wrapper.setQuery(query)
    wrapper.setReturnFormat(TURTLE if graph else JSON)
    wrapper.setOnlyConneg(True)
    wrapper.setMethod(POST if len(query.encode("utf-8")) > POST_THRESHOLD else GET)
    try:
        # SPARQLWrapper's own query() bounds each read only; its prepared request is sent here
        response = send(wrapper._createRequest(), timeout)  # noqa: SLF001 - SPARQLWrapper 2.x
    except RequestTimeout:
        raise RemoteError(f"{endpoint} did not answer within {timeout:g} s") from None
    except urllib.error.URLError as exc:
        reason = exc.reason
        raise RemoteError(f"cannot reach {endpoint}: {getattr(reason, 'strerror', None) or reason}") from None
    except (OSError, ValueError, http.client.HTTPException) as exc:  # resets, bad URLs
        raise RemoteError(f"request to {endpoint} failed: {type(exc).__name__}: {exc}") from None
    if response.status >= 300:
        why = _shift_columns(response.first_line(), shift) or _reason_phrase(response.status)
        raise RemoteError(f"{endpoint} answered HTTP {response.status}: {why}")
    if graph:
        return _graph_result(response.body, response.media_type, endpoint)
    return _json_result(response.body, endpoint)


def _reason_phrase(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "error"


def _json_result(body: bytes, endpoint: str) -> QueryResult:
    def bad(why: str) -> RemoteError:
        return RemoteError(f"malformed SPARQL results from {endpoint}: {why}")

    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise bad(f"not JSON ({exc})") from None
    if not isinstance(data, dict):
        raise bad("not a JSON object")
    if isinstance(data.get("boolean"), bool):
        return QueryResult(boolean=data["boolean"])
    try:
        names = [str(v) for v in data["head"].get("vars", [])]
        rows = [{n: _json_term(t) for n, t in b.items()} for b in data["results"]["bindings"]]
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise bad(f"{type(exc).__name__}: {exc}") from None
    return QueryResult(names, rows)


def _json_term(term: dict) -> Term:
    kind, value = term["type"], term["value"]
    if kind == "uri":
        return ox.NamedNode(value)
    if kind == "bnode":
        return ox.BlankNode(value)
    if kind in ("literal", "typed-literal"):
        if "xml:lang" in term:
            return ox.Literal(value, language=term["xml:lang"])
        if "datatype" in term:
            return ox.Literal(value, datatype=ox.NamedNode(term["datatype"]))
        return ox.Literal(value)
    raise ValueError(f"unknown term type {kind!r}")


def _graph_result(body: bytes, media: str, endpoint: str) -> QueryResult:
    fmt = ox.RdfFormat.from_media_type(media.split(";")[0].strip()) or ox.RdfFormat.TURTLE
    try:
        triples = list(ox.parse(body, format=fmt))
    except (SyntaxError, ValueError) as exc:
        raise RemoteError(f"malformed RDF from {endpoint}: {first_line(str(exc))}") from None
    return QueryResult(["subject", "predicate", "object"],
                       [{"subject": t.subject, "predicate": t.predicate, "object": t.object} for t in triples])


# --------------------------------------------------------------------------- formatting


def format_results(result: QueryResult, fmt: str) -> str:
    """``result`` as ``table``, ``csv``, ``tsv`` (W3C SPARQL 1.1 CSV/TSV) or ``json`` (W3C SPARQL JSON)."""
    writers = {"table": _table, "csv": _csv, "tsv": _tsv, "json": _json}
    if fmt not in writers:
        raise QueryError(f"unknown result format {fmt!r} (choose from {', '.join(writers)})")
    return writers[fmt](result)


_NAMESPACES = sorted(PREFIXES.items(), key=lambda item: -len(item[1]))
_CELL_WIDTH = 60


def compact(term: Term) -> str:
    """A short display form: ``prefix:local`` for known namespaces, literal values as text."""
    if isinstance(term, ox.NamedNode):
        for prefix, namespace in _NAMESPACES:
            if term.value.startswith(namespace) and len(term.value) > len(namespace):
                return f"{prefix}:{term.value[len(namespace):]}"
        return f"<{term.value}>"
    if isinstance(term, ox.BlankNode):
        return f"_:{term.value}"
    text = term.value
    return f"{text}@{term.language}" if term.language else text


def _table(result: QueryResult) -> str:
    if result.boolean is not None:
        return f"{'true' if result.boolean else 'false'}\n"
    cells = [[_cell(row.get(v)) for v in result.variables] for row in result.rows]
    widths = [max([len(v)] + [len(r[i]) for r in cells]) for i, v in enumerate(result.variables)]
    lines = ["  ".join(v.ljust(w) for v, w in zip(result.variables, widths)).rstrip(),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in cells]
    count = len(result.rows)
    lines.append(f"({count} row{'' if count == 1 else 's'})")
    return "\n".join(lines) + "\n"


def _cell(term: Term | None) -> str:
    if term is None:
        return ""
    text = " ".join(compact(term).split())
    return text if len(text) <= _CELL_WIDTH else text[:_CELL_WIDTH - 1] + "…"


def _csv(result: QueryResult) -> str:
    import csv

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    if result.boolean is not None:
        writer.writerow(["true" if result.boolean else "false"])
        return buffer.getvalue()
    writer.writerow(result.variables)
    for row in result.rows:
        writer.writerow([_csv_value(row.get(v)) for v in result.variables])
    return buffer.getvalue()


def _csv_value(term: Term | None) -> str:
    if term is None:
        return ""
    return f"_:{term.value}" if isinstance(term, ox.BlankNode) else term.value


def _tsv(result: QueryResult) -> str:
    if result.boolean is not None:
        return f"{'true' if result.boolean else 'false'}\n"
    lines = ["\t".join("?" + v for v in result.variables)]
    lines += ["\t".join(_tsv_value(row.get(v)) for v in result.variables) for row in result.rows]
    return "\n".join(lines) + "\n"


def _tsv_value(term: Term | None) -> str:
    if term is None:
        return ""
    if isinstance(term, ox.NamedNode):
        return f"<{term.value}>"
    if isinstance(term, ox.BlankNode):
        return f"_:{term.value}"
    datatype = term.datatype.value
    if (datatype == _XSD_INTEGER and _INTEGER.fullmatch(term.value)) or \
            (datatype == _XSD_DECIMAL and _DECIMAL.fullmatch(term.value)):
        return term.value
    escaped = (term.value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
               .replace("\r", "\\r").replace("\t", "\\t"))
    if term.language:
        return f'"{escaped}"@{term.language}'
    if datatype == _XSD_STRING:
        return f'"{escaped}"'
    return f'"{escaped}"^^<{datatype}>'


def _json(result: QueryResult) -> str:
    if result.boolean is not None:
        data: dict = {"head": {}, "boolean": result.boolean}
    else:
        data = {"head": {"vars": result.variables},
                "results": {"bindings": [{v: json_value(t) for v, t in row.items()} for row in result.rows]}}
    return json.dumps(data, ensure_ascii=False, indent=1) + "\n"


def json_value(term: Term | ox.Triple) -> dict:
    """A term as SPARQL 1.1 JSON results write it (RDF-star triples as ``"type": "triple"``)."""
    if isinstance(term, ox.NamedNode):
        return {"type": "uri", "value": term.value}
    if isinstance(term, ox.BlankNode):
        return {"type": "bnode", "value": term.value}
    if isinstance(term, ox.Literal):
        out = {"type": "literal", "value": term.value}
        if term.language:
            out["xml:lang"] = term.language
        elif term.datatype.value != _XSD_STRING:
            out["datatype"] = term.datatype.value
        return out
    return {"type": "triple", "value": {"subject": json_value(term.subject), "predicate": json_value(term.predicate),
                                        "object": json_value(term.object)}}
