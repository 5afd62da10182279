"""Stage 1: find PFOCR figure records and read them, with their companion tables.

A record is a Markdown file whose YAML front matter sits between the first two ``---``
lines.  Its gene/chemical/disease tables are ``_data/<figid>-{genes,chemicals,diseases}.tsv``
beside the ``_figures/`` folder (current layout) or inline ``genes:``/``chemicals:``/
``diseases:`` lists (older layout).  Both layouts are read into one :class:`Record`.

A record that cannot be read at all raises :class:`RecordError`, which names the file, the
line (when known), the field and the reason, so one bad record can be reported and skipped.
A problem confined to one table row (or inline list item) never drops the figure: the row is
skipped or kept as far as it is sound, and a warning (a :class:`RecordError` with
``level="warning"``) is added to :attr:`Record.warnings`.
"""

from __future__ import annotations

import hashlib
import os
import re
from array import array
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence, overload

import yaml

try:  # PyYAML's C loader is ~10x faster; the pure-Python one is the fallback.
    from yaml import CSafeLoader as SafeLoader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader  # type: ignore[assignment]

#: Spellings of "no value" in PFOCR data: R's ``NA`` and ``.na.character``, and empty.
MISSING = frozenset({"", "NA", ".na.character"})

TABLE_KINDS = ("genes", "chemicals", "diseases")
MAX_RECORD_BYTES = 16 * 1024 * 1024
#: A figid names files (``<figid>.md``, ``<figid>-chemicals.tsv``): file names stop at 255 bytes.
MAX_FIGID_CHARS = 200
#: YAML aliases may expand the front matter to at most this many times its own size...
MAX_EXPANSION_FACTOR = 10
#: ...or to this many characters, whichever is larger.
MIN_EXPANSION_LIMIT = 4 * 1024 * 1024
#: Integers in YAML with more digits than this are refused before Python converts them.
MAX_INT_DIGITS = 100
HUMAN_TAXID = "9606"
LEVELS = ("error", "warning")


class RecordError(Exception):
    """A problem with a record: where it is and why.  ``level="error"`` (the default): the
    record cannot be converted; ``level="warning"``: one row or value was left out and the
    record still converts."""

    def __init__(self, path: Path | str, reason: str, line: int | None = None, field: str | None = None,
                 level: str = "error"):
        if level not in LEVELS:
            raise ValueError(f"level must be one of {LEVELS}, not {level!r}")
        self.path = str(path)
        self.reason = " ".join(reason.splitlines())  # one line on stderr and in the report
        self.line = line
        self.field = field
        self.level = level
        super().__init__(str(self))

    @property
    def is_warning(self) -> bool:
        return self.level == "warning"

    def __str__(self) -> str:
        where = self.path if self.line is None else f"{self.path}:{self.line}"
        what = f" [{self.field}]" if self.field else ""
        return f"{where}:{what} {self.reason}"

    def __reduce__(self):  # survives the trip back from worker processes
        return (RecordError, (self.path, self.reason, self.line, self.field, self.level))

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.path, "line": self.line, "field": self.field, "reason": self.reason, "level": self.level}


def warning(path: Path | str, reason: str, line: int | None = None, field: str | None = None) -> RecordError:
    """A row-level problem: reported, and the record still converts."""
    return RecordError(path, reason, line, field, "warning")


@dataclass(frozen=True)
class Location:
    """A file and 1-based line, for error messages; for an inline list item (older layout)
    also the list's key and the item's 1-based position."""

    path: str
    line: int | None = None
    key: str | None = None
    item: int | None = None

    def field(self, column: str) -> str:
        """How to name ``column`` of this row in a message: the TSV column, or for an inline
        item ``genes[3].entrez`` (the item's own key, see :data:`INLINE_KEYS`)."""
        if self.key is None:
            return column
        return f"{self.key}[{self.item}].{INLINE_KEYS.get(column, column)}"


#: The inline (older layout) item keys that hold what a table column holds.
INLINE_KEYS = {"ncbigene_id": "entrez", "ncbigene_symbol": "hgnc_symbol", "match": "symbol", "mesh": "identifier",
               "chebi": "identifier", "doid": "identifier"}


@dataclass(frozen=True)
class GeneRow:
    """One OCR gene match: the OCR ``word`` mapped (via ``match``/``source``) to an NCBI gene.
    ``word`` is None when the table gives none (``NA``): the gene is still linked."""

    word: str | None
    match: str | None
    source: str | None
    ncbigene_id: str | None
    symbol: str | None
    taxid: str | None
    organism_name: str | None
    where: Location


@dataclass(frozen=True)
class TermRow:
    """One OCR chemical or disease match: MeSH id plus ChEBI (chemicals) or DOID (diseases)."""

    word: str | None
    mesh: str | None
    match: str | None
    name: str | None
    xref: str | None
    source: str | None
    where: Location


@dataclass(frozen=True)
class WpidRow:
    """One row of the site table ``_data/wpid_map.tsv`` naming this record's figure: the
    WikiPathways pathway the figure was redrawn as (``wpid`` as written, checked by the mapping)."""

    wpid: str
    where: Location


@dataclass
class Record:
    """One figure record: its front matter fields and its normalised tables."""

    path: Path
    fields: dict[str, Any]
    front_matter: str
    digest: str
    genes: list[GeneRow] = field(default_factory=list)
    chemicals: list[TermRow] = field(default_factory=list)
    diseases: list[TermRow] = field(default_factory=list)
    wpid_rows: list[WpidRow] = field(default_factory=list)
    warnings: list[RecordError] = field(default_factory=list)

    @property
    def figid(self) -> str:
        return self.fields["figid"]

    def line_of(self, key: str) -> int | None:
        """1-based line of the top-level front-matter ``key`` in the record file."""
        return line_of_key(self.front_matter, key)

    def error(self, key: str, reason: str) -> RecordError:
        """A :class:`RecordError` pointing at front-matter ``key``."""
        return RecordError(self.path, reason, self.line_of(key), key)

    def warn(self, path: Path | str, reason: str, line: int | None = None, field: str | None = None) -> None:
        """Add a row-level warning (the record still converts)."""
        self.warnings.append(warning(path, reason, line, field))


def line_of_key(front_matter: str, key: str) -> int | None:
    """1-based line (in the record file) of the top-level front-matter ``key``."""
    pattern = re.compile(rf"^['\"]?{re.escape(key)}['\"]?\s*:")
    for number, text in enumerate(front_matter.split("\n"), start=2):  # not splitlines(): U+2028...
        if pattern.match(text):
            return number
    return None


def key_at_line(front_matter: str, line: int) -> str | None:
    """The top-level front-matter key whose value holds file line ``line``."""
    key = None
    for number, text in enumerate(front_matter.split("\n"), start=2):
        if number > line:
            break
        match = _TOP_KEY.match(text)
        if match:
            key = match.group(1) or match.group(2) or match.group(3)
    return key


_TOP_KEY = re.compile(r"""^(?:'([^']+)'|"([^"]+)"|([^\s#'"\-][^:]*?))\s*:(?:\s|$)""")


@dataclass(frozen=True)
class RecordSource:
    """A record file and the ``_data`` folder its companion tables would be in."""

    path: Path
    data_dir: Path | None


def value(raw: Any) -> str | None:
    """A scalar as stripped text, or ``None`` for the PFOCR spellings of "missing"."""
    if raw is None:
        return None
    text = str(raw).strip()
    return None if text in MISSING else text


def values(raw: Any) -> list[str]:
    """A list field (or a single string) as its non-missing items."""
    items = raw if isinstance(raw, list) else [raw]
    return [v for v in (value(x) for x in items if not isinstance(x, (dict, list))) if v is not None]


# --------------------------------------------------------------------------- discovery


class RecordSources(Sequence[RecordSource]):
    """The records :func:`discover` found, sorted by file name: a sequence of
    :class:`RecordSource` made on demand from one name string per record (100k ``Path``
    objects would cost ~50 MB and make a build's memory grow with the corpus)."""

    def __init__(self, folders: list[tuple[Path, Path | None]], names: list[str], groups: array | None):
        self._folders = folders  # (folder, its _data folder)
        self._names = names
        self._groups = groups  # folder index per name; None when there is one folder

    def __len__(self) -> int:
        return len(self._names)

    @property
    def folders(self) -> list[tuple[Path, Path | None]]:
        """Each folder the records are in, with its ``_data`` folder (or None)."""
        return self._folders

    @property
    def names(self) -> list[str]:
        """The records' file names, sorted (one per record, in order)."""
        return self._names

    @overload
    def __getitem__(self, index: int) -> RecordSource: ...

    @overload
    def __getitem__(self, index: slice) -> list[RecordSource]: ...

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        name = self._names[index]
        folder, data_dir = self._folders[self._groups[index] if self._groups is not None else 0]
        return RecordSource(folder / name, data_dir)

    def __iter__(self) -> Iterator[RecordSource]:
        for i in range(len(self._names)):
            yield self[i]


def discover(sources: Iterable[str | Path]) -> RecordSources:
    """Record files named by ``sources``, sorted by file name, each with its ``_data`` folder.

    A source is a record file, a folder of ``.md`` records, or a folder holding
    ``_figures/`` (and ``_data/``).  A file named twice is read once.  Raises
    :class:`FileNotFoundError` for a missing source.
    """
    listed: list[tuple[Path, list[str]]] = []
    for source in sources:
        path = Path(source)
        if path.is_file():
            listed.append((path.parent, [path.name]))
        elif path.is_dir():
            folder = path / "_figures" if (path / "_figures").is_dir() else path
            with os.scandir(folder) as entries:
                listed.append((folder, sorted(e.name for e in entries if e.name.endswith(".md") and e.is_file())))
        else:
            raise FileNotFoundError(f"no such record file or folder: {source}")
    folders: list[tuple[Path, Path | None]] = []
    by_real: dict[str, int] = {}
    merged: dict[int, set[str]] = {}
    for folder, names in listed:
        real = os.path.realpath(folder)
        if real not in by_real:
            by_real[real] = len(folders)
            folders.append((folder, data_dir_for(folder / names[0]) if names else None))  # one per folder
            merged[by_real[real]] = set()
        merged[by_real[real]].update(names)
    if len(folders) == 1 and len(listed) == 1:  # the usual case: one folder, already sorted
        return RecordSources(folders, listed[0][1], None)
    entries = sorted((name, str(folders[g][0]), g) for g, names in merged.items() for name in names)
    return RecordSources(folders, [name for name, _, _ in entries], array("I", (g for _, _, g in entries)))


def data_dir_for(record_file: Path) -> Path | None:
    """Where a record's companion tables live: ``../_data`` beside ``_figures/``, else ``./_data``."""
    folder = record_file.parent
    candidates = [folder.parent / "_data", folder / "_data"] if folder.name == "_figures" else [folder / "_data"]
    return next((c for c in candidates if c.is_dir()), None)


# --------------------------------------------------------------------------- reading


def read_record(source: RecordSource) -> Record:
    """Read and normalise one record with its tables; raises :class:`RecordError` when the
    record cannot be read at all (row-level problems become :attr:`Record.warnings`)."""
    path = source.path
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise RecordError(path, f"cannot read file: {exc.strerror or exc}") from None
    if len(raw) > MAX_RECORD_BYTES:
        raise RecordError(path, f"record is larger than {MAX_RECORD_BYTES} bytes")
    text = _decode(raw, path)
    front_matter = split_front_matter(text, path)
    fields = parse_front_matter(front_matter, path)
    fig = value(fields.get("figid"))
    if fig is None:
        raise RecordError(path, "missing required field 'figid'", line_of_key(front_matter, "figid") or 1, "figid")
    if len(fig) > MAX_FIGID_CHARS:
        raise RecordError(path, f"figid is {len(fig)} characters long; at most {MAX_FIGID_CHARS} are allowed "
                          "(it names the record's files)", line_of_key(front_matter, "figid"), "figid")
    fields["figid"] = fig
    record = Record(path=path, fields=fields, front_matter=front_matter, digest="")
    _read_inline_tables(record)
    tables = companion_tables(source, fig)
    for kind, (table, data) in tables.items():
        if isinstance(data, OSError):
            record.warn(table, f"cannot read table: {data.strerror or data}; its rows are left out")
        else:
            _read_table(record, kind, table, data)
    links = wpid_links(source, fig)
    _add_wpid_rows(record, links)
    record.digest = content_digest(raw, fig, tables, links)
    return record


def companion_tables(source: RecordSource, fig: str) -> dict[str, tuple[Path, bytes | OSError]]:
    """``kind -> (path, bytes)`` of the record's ``_data/<figid>-<kind>.tsv`` tables that exist
    (a table that exists but cannot be read: the ``OSError`` instead of bytes)."""
    tables: dict[str, tuple[Path, bytes | OSError]] = {}
    if source.data_dir is not None:
        for kind in TABLE_KINDS:
            table = source.data_dir / f"{fig}-{kind}.tsv"
            try:
                if not table.is_file():
                    continue
            except OSError:  # e.g. a name too long for the file system: no such table
                continue
            try:
                tables[kind] = (table, table.read_bytes())
            except OSError as exc:
                tables[kind] = (table, exc)
    return tables


#: The version of the record -> RDF mapping, part of every record digest: bump it whenever the
#: same record maps to other triples, so that an incremental build re-maps every record.
#: 2: IRIs as WikiPathways RDF writes them (https://identifiers.org), kg:redrawnAs.
MAPPING_VERSION = 2


def content_digest(raw: bytes, fig: str, tables: dict[str, tuple[Path, bytes | OSError]],
                   links: WpidLinks | None = None) -> str:
    """SHA-256 of the mapping version, a record file, its tables (names included) and its rows
    of the site's ``wpid_map.tsv`` (when it has any): what incremental builds compare."""
    digest = hashlib.sha256(f"kg-mapping-{MAPPING_VERSION}\0".encode())
    digest.update(raw)
    for kind, (_, data) in tables.items():
        digest.update(f"\0{fig}-{kind}\0".encode())
        digest.update(data if isinstance(data, bytes) else b"\0unreadable\0")
    if links is not None and (links.rows or links.error):
        digest.update(f"\0{WPID_MAP}\0".encode())
        digest.update("\n".join(sorted(text for _, text in links.rows) + [links.error or ""]).encode())
    return digest.hexdigest()


def quick_digest(source: RecordSource) -> str | None:
    """The digest :func:`read_record` would give, without parsing YAML: tables are looked up
    by the file name's stem, which is the figid in PFOCR data (if not, the digests differ and
    the record is simply re-read).  ``None`` if the file cannot be read."""
    try:
        raw = source.path.read_bytes()
        fig = source.path.stem
        return content_digest(raw, fig, companion_tables(source, fig), wpid_links(source, fig))
    except OSError:
        return None


def _decode(raw: bytes, path: Path | str) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise RecordError(path, f"invalid UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start})", line) from None


def split_front_matter(text: str, path: Path | str) -> str:
    """The YAML text between the first two ``---`` lines (the opening one must be line 1)."""
    first_end = text.find("\n")
    first = text if first_end < 0 else text[:first_end]
    if first.rstrip() != "---":
        raise RecordError(path, "no YAML front matter: the file must start with a '---' line", 1)
    closing = _CLOSING.search(text, first_end) if first_end >= 0 else None
    if closing is None:
        raise RecordError(path, "front matter is not closed by a second '---' line", 1)
    return text[first_end + 1:closing.start() + 1]


_CLOSING = re.compile(r"\n(?:---|\.\.\.)[ \t]*\r?(?:\n|$)")


class _ValueError(yaml.constructor.ConstructorError):
    """A scalar kg refuses to construct (an impossible date, a number too long)."""


def _timestamp_as_text(loader: Any, node: yaml.ScalarNode) -> str:
    """YAML dates and times stay the text the record wrote (JSON has no date type); an
    impossible one (``2023-13-45``) is refused with its line."""
    try:
        yaml.constructor.SafeConstructor.construct_yaml_timestamp(loader, node)
    except (ValueError, OverflowError) as exc:
        raise _ValueError(None, None, f"{node.value!r} is not a valid date or time ({exc})", node.start_mark) from None
    return str(node.value)


def _bounded_int(loader: Any, node: yaml.ScalarNode) -> int:
    """A YAML integer, refused past :data:`MAX_INT_DIGITS` digits (before Python converts it)."""
    digits = sum(c.isdigit() for c in str(node.value))
    if digits > MAX_INT_DIGITS:
        raise _ValueError(None, None, f"a number with {digits} digits (at most {MAX_INT_DIGITS})", node.start_mark)
    return yaml.constructor.SafeConstructor.construct_yaml_int(loader, node)


class _Loader(SafeLoader):  # type: ignore[misc, valid-type]
    """PyYAML's safe loader, except that dates stay text and integers are bounded."""


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_as_text)
_Loader.add_constructor("tag:yaml.org,2002:int", _bounded_int)


def parse_front_matter(front_matter: str, path: Path | str) -> dict[str, Any]:
    """Safe-load the YAML front matter into a mapping; reject tags, aliases of collections,
    alias expansion past the limit, impossible dates, huge integers and non-mappings."""
    try:
        fields = yaml.load(front_matter, Loader=_Loader)  # noqa: S506 - a safe loader
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 2 if mark is not None else None
        problem = exc.problem or exc.context or "invalid YAML"
        if isinstance(exc, _ValueError):
            raise RecordError(path, f"invalid value: {problem}", line,
                              key_at_line(front_matter, line) if line else None) from None
        if isinstance(exc, yaml.constructor.ConstructorError) and "tag" in str(problem):
            problem = f"YAML tag not allowed ({problem.split('tag')[-1].strip()})"
        raise RecordError(path, f"invalid YAML front matter: {problem}", line) from None
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow (a NUL, U+FFFE...)
        line = front_matter.count("\n", 0, exc.position) + 2 if isinstance(exc.position, int) else None
        code = exc.character if isinstance(exc.character, int) else ord(str(exc.character)[:1] or "\0")
        raise RecordError(path, f"invalid YAML front matter: character U+{code:04X} is not allowed "
                          f"({exc.reason})", line) from None
    except yaml.YAMLError as exc:
        raise RecordError(path, f"invalid YAML front matter: {exc}", None) from None
    except RecursionError:
        raise RecordError(path, "invalid YAML front matter: lists or mappings nested too deeply") from None
    except (ValueError, TypeError, OverflowError) as exc:  # a value PyYAML cannot construct
        raise RecordError(path, f"invalid YAML front matter: cannot construct a value ({exc})") from None
    if not isinstance(fields, dict):
        kind = "empty" if fields is None else type(fields).__name__
        raise RecordError(path, f"front matter must be a YAML mapping, not {kind}", 2)
    if "*" in front_matter:  # an alias needs a '*': most records can skip the walk
        _check_aliases(fields, front_matter, path)
    return {str(k): v for k, v in fields.items()}


def expansion_limit(front_matter: str) -> int:
    """How many characters the front matter may expand to through YAML aliases."""
    return max(MIN_EXPANSION_LIMIT, MAX_EXPANSION_FACTOR * len(front_matter))


def _check_aliases(fields: dict[Any, Any], front_matter: str, path: Path | str) -> None:
    """Refuse YAML aliases of collections (a record never needs them and they allow alias
    bombs), and aliases of scalars that expand the front matter past :func:`expansion_limit`
    (one 100 KB anchor used 20,000 times is 2 GB once expanded).  The walk stops at the limit."""
    limit = expansion_limit(front_matter)
    seen: set[int] = set()
    total = 0
    for key, top in fields.items():
        stack = [key, top]
        while stack:
            node = stack.pop()
            if isinstance(node, (dict, list)):
                if id(node) in seen:
                    raise RecordError(path, "YAML aliases (*name) of lists or mappings are not allowed (possible alias bomb)")
                seen.add(id(node))
                total += 2
                if isinstance(node, dict):
                    for k, v in node.items():
                        stack.append(k)
                        stack.append(v)
                else:
                    stack.extend(node)
            else:
                total += len(node) if isinstance(node, str) else 8
            if total > limit:
                name = str(key)
                raise RecordError(path, f"YAML aliases expand the front matter past {limit} characters "
                                  f"({MAX_EXPANSION_FACTOR}x its size, at least {MIN_EXPANSION_LIMIT}): "
                                  "refused (possible alias bomb)", line_of_key(front_matter, name), name)


# --------------------------------------------------------------------------- tables

#: Table columns kg uses, by kind and schema; any other column (organism_group, count_*...) is ignored.
GENE_COLUMNS = ("organism_id", "organism_name", "word", "match", "ncbigene_symbol", "ncbigene_id", "source")
TERM_COLUMNS = {"chemicals": ("word", "mesh", "match", "name", "chebi"), "diseases": ("word", "mesh", "match", "name", "doid")}
SOURCE_COLUMNS = ("word", "source", "identifier")  # older table schema, as the inline lists
#: ``source`` values (any case) or identifier prefixes naming each kind of identifier.
XREF_SOURCES = {"chemicals": "chebi", "diseases": "doid"}


def _table_lines(record: Record, path: Path, data: bytes) -> Iterator[tuple[int, str]]:
    """``(line number, text)`` of each line; a line that is not UTF-8 is reported and skipped.
    Rows end at "\\n" (or "\\r\\n") only: str.splitlines() would also break a row at the
    U+0085, U+2028, \\v, \\f... that OCR text can hold, and mis-number the lines after it."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = None
    if text is not None:
        for number, line in enumerate(text.split("\n"), start=1):
            yield number, line[:-1] if line.endswith("\r") else line
        return
    for number, raw in enumerate(data.split(b"\n"), start=1):
        raw = raw[:-1] if raw.endswith(b"\r") else raw
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            what = "the header: table skipped" if number == 1 else "row skipped"
            record.warn(path, f"invalid UTF-8 (byte 0x{raw[exc.start]:02x} at column {exc.start + 1}); {what}", number)
            if number == 1:
                return
            continue
        yield number, line.lstrip("\ufeff") if number == 1 else line


def _read_table(record: Record, kind: str, path: Path, data: bytes) -> None:
    """Rows of one companion table into ``record``; bad rows are reported and skipped,
    duplicate rows collapse into one."""
    header: list[str] | None = None
    index: dict[str, int] = {}
    seen: set[tuple[str, ...]] = set()
    for number, line in _table_lines(record, path, data):
        if not line.strip("\t "):
            continue  # blank line or only tabs
        if header is None:
            header = [h.strip() for h in line.split("\t")]
            index = _table_schema(record, kind, path, header)
            if not index:
                return
            continue
        if "\r" in line:
            record.warn(path, "a carriage return inside a cell; row skipped", number)
            continue
        cells = line.split("\t")
        if len(cells) != len(header):
            record.warn(path, f"row has {len(cells)} fields, the header has {len(header)}; row skipped", number)
            continue
        key = tuple(cells)
        if key in seen:
            continue  # a duplicate row adds nothing
        seen.add(key)
        cell = {name: value(cells[i]) for name, i in index.items()}
        where = Location(str(path), number)
        raw_word = cells[index["word"]].strip() if "word" in index else ""
        if kind == "genes":
            _add_gene(record, cell.get("word"), raw_word, cell.get("match"), cell.get("source"), cell.get("ncbigene_id"),
                      cell.get("ncbigene_symbol"), cell.get("organism_id"), cell.get("organism_name"), where)
        elif "mesh" in index:
            _add_term(record, kind, cell.get("word"), raw_word, cell.get("mesh"), cell.get("match"), cell.get("name"),
                      cell.get(XREF_SOURCES[kind]), None, where)
        else:
            _add_sourced_term(record, kind, cell.get("word"), raw_word, cell.get("source"), cell.get("identifier"), where)


def _table_schema(record: Record, kind: str, path: Path, header: list[str]) -> dict[str, int]:
    """``column -> position`` of the columns kg uses; empty (after a warning) when the table
    has none of the columns that identify anything.  Genes: 10 or 11 columns (``count_*``
    vary), chemicals/diseases: ``word, mesh, match, name, chebi|doid`` or ``word, source, identifier``."""
    position = {name: i for i, name in reversed(list(enumerate(header)))}  # the first of repeated names
    if kind == "genes":
        wanted, key_columns = GENE_COLUMNS, ("ncbigene_id", "word")
    elif "mesh" in position or "identifier" not in position:
        wanted, key_columns = TERM_COLUMNS[kind], ("mesh", XREF_SOURCES[kind], "word")
    else:
        wanted, key_columns = SOURCE_COLUMNS, ("identifier", "word")
    if not any(c in position for c in key_columns):
        record.warn(path, f"{kind} table has none of the columns {', '.join(key_columns)}; table skipped", 1,
                    key_columns[0])
        return {}
    missing = [c for c in wanted if c not in position]
    if missing:
        record.warn(path, f"{kind} table has no column(s) {', '.join(missing)}; those values are left out", 1,
                    missing[0])
    return {c: position[c] for c in wanted if c in position}


def _no_word(record: Record, where: Location, raw_word: str, linked: str) -> None:
    shown = f"is {raw_word!r}, read as missing" if raw_word else "is empty"
    record.warn(where.path, f"OCR word {shown}: {linked}, its mention has no kg:ocrWord", where.line,
                where.field("word"))


def _add_gene(record: Record, word: str | None, raw_word: str, match: str | None, source: str | None,
              gene_id: str | None, symbol: str | None, taxid: str | None, organism: str | None,
              where: Location) -> None:
    if word is None:
        if gene_id is None:
            record.warn(where.path, "row has neither an OCR word nor a gene id; row skipped", where.line,
                        where.field("word"))
            return
        _no_word(record, where, raw_word, f"gene {gene_id} is linked")
    record.genes.append(GeneRow(word, match, source, gene_id, symbol, taxid, organism, where))


def _add_term(record: Record, kind: str, word: str | None, raw_word: str, mesh: str | None, match: str | None,
              name: str | None, xref: str | None, source: str | None, where: Location) -> None:
    if word is None:
        if mesh is None and xref is None:
            record.warn(where.path, "row has neither an OCR word nor an identifier; row skipped", where.line,
                        where.field("word"))
            return
        _no_word(record, where, raw_word, f"{mesh or xref} is linked")
    target = record.chemicals if kind == "chemicals" else record.diseases
    target.append(TermRow(word, mesh, match, name, xref, source, where))


def _add_sourced_term(record: Record, kind: str, word: str | None, raw_word: str, source: str | None,
                      ident: str | None, where: Location) -> None:
    """A ``word, source, identifier`` row or inline item: ``source`` (or the identifier's
    prefix) says whether the identifier is MeSH, ChEBI (chemicals) or DOID (diseases)."""
    mesh = xref = None
    if ident is not None:
        named = (source or "").strip().lower()
        prefix = ident.split(":", 1)[0].lower() if ":" in ident else ""
        if "mesh" in (named, prefix):
            mesh = ident
        elif XREF_SOURCES[kind] in (named, prefix):
            xref = ident
        else:
            record.warn(where.path, f"identifier {ident!r} with source {source!r} is neither MeSH nor "
                        f"{XREF_SOURCES[kind].upper()}; it is left out", where.line, where.field("identifier"))
    _add_term(record, kind, word, raw_word, mesh, None, None, xref, source, where)


def _read_inline_tables(record: Record) -> None:
    """Older layout: inline ``genes`` (word, symbol, source, hgnc_symbol, entrez) and
    ``chemicals``/``diseases`` (word, source, identifier) lists."""
    for kind in TABLE_KINDS:
        items = record.fields.get(kind)
        if items is None or items == [] or (isinstance(items, str) and value(items) is None):
            continue
        line = record.line_of(kind)
        if not isinstance(items, list):
            record.warn(record.path, f"'{kind}' must be a list of mappings, not {type(items).__name__}; it is left out",
                        line, kind)
            continue
        for position, item in enumerate(items, start=1):
            if not isinstance(item, dict):
                record.warn(record.path, f"item {position} of '{kind}' is not a mapping; it is left out", line,
                            f"{kind}[{position}]")
                continue
            where = Location(str(record.path), line, kind, position)
            word = _inline_text(record, item, "word", where)
            raw_word = str(item.get("word") or "").strip() if not isinstance(item.get("word"), (dict, list)) else ""
            if kind == "genes":
                symbol = _inline_text(record, item, "hgnc_symbol", where)
                gene_id = _inline_text(record, item, "entrez", where)
                taxid, organism = (HUMAN_TAXID, "Homo sapiens") if symbol else (None, None)  # HGNC is human-only
                _add_gene(record, word, raw_word, _inline_text(record, item, "symbol", where),
                          _inline_text(record, item, "source", where), gene_id, symbol, taxid, organism, where)
            else:
                _add_sourced_term(record, kind, word, raw_word, _inline_text(record, item, "source", where),
                                  _inline_text(record, item, "identifier", where), where)


def _inline_text(record: Record, item: dict[str, Any], key: str, where: Location) -> str | None:
    """An inline item's value as text; a list or mapping there is reported and left out."""
    raw = item.get(key)
    if isinstance(raw, (dict, list)):
        record.warn(where.path, f"'{key}' must be text, not a {'list' if isinstance(raw, list) else 'mapping'}; "
                    "it is left out", where.line, f"{where.key}[{where.item}].{key}")
        return None
    return value(raw)


# --------------------------------------------------------------------------- the site's wpid_map.tsv

#: PFOCR's site table of figures redrawn as WikiPathways pathways, in the ``_data`` folder:
#: two columns, figid and WPID, no header; some published rows separate them by two spaces.
WPID_MAP = "wpid_map.tsv"


@dataclass(frozen=True)
class WpidLinks:
    """The rows of ``wpid_map.tsv`` that name one figure: ``(line, text)`` each, and the
    reason the map could not be read (if it could not)."""

    path: Path | None
    rows: tuple[tuple[int, str], ...] = ()
    error: str | None = None


_NO_LINKS = WpidLinks(None)


@lru_cache(maxsize=8)
def _wpid_map(path: str, stamp: tuple[int, int]) -> dict[str, tuple[tuple[int, str], ...]] | str:
    """``figid -> ((line, row text), ...)`` of the map at ``path`` (read once per process and
    version of the file, ``stamp`` = size and mtime), or why it cannot be read.  A row's
    first whitespace-separated cell is its figid; blank lines are skipped, duplicates kept once."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        return f"cannot read {path}: {exc.strerror or exc}; no kg:redrawnAs links from it"
    rows: dict[str, list[tuple[int, str]]] = {}
    seen: set[str] = set()
    for number, raw in enumerate(data.split(b"\n"), start=1):
        text = raw.decode("utf-8", errors="replace").rstrip("\r")
        if number == 1:
            text = text.lstrip("\ufeff")
        cells = text.split()
        if not cells or text in seen:
            continue
        seen.add(text)
        rows.setdefault(cells[0], []).append((number, text))
    return {figid: tuple(found) for figid, found in rows.items()}


def wpid_links(source: RecordSource, fig: str) -> WpidLinks:
    """The rows of the site's ``_data/wpid_map.tsv`` (beside the record's tables) naming ``fig``."""
    if source.data_dir is None:
        return _NO_LINKS
    path = source.data_dir / WPID_MAP
    try:
        info = path.stat()
    except OSError:
        return _NO_LINKS
    found = _wpid_map(str(path), (info.st_size, info.st_mtime_ns))
    if isinstance(found, str):
        return WpidLinks(path, error=found)
    rows = found.get(fig)
    return WpidLinks(path, rows) if rows else _NO_LINKS


def _add_wpid_rows(record: Record, links: WpidLinks) -> None:
    """``links`` into :attr:`Record.wpid_rows`; a row that is not ``figid<TAB>WPID`` (tab or
    spaces between) is reported and skipped."""
    if links.path is None:
        return
    if links.error:
        record.warn(links.path, links.error)
    for number, text in links.rows:
        cells = text.split()
        if len(cells) != 2:
            record.warn(links.path, f"row has {len(cells)} fields, expected 2 (figid and WikiPathways id); "
                        "row skipped", number, "WPID" if len(cells) < 2 else None)
            continue
        record.wpid_rows.append(WpidRow(cells[1], Location(str(links.path), number)))


def iter_records(sources: Iterable[RecordSource]) -> Iterator[Record | RecordError]:
    """Read each source in turn, yielding the record or the error that rejected it."""
    for source in sources:
        try:
            yield read_record(source)
        except RecordError as exc:
            yield exc
