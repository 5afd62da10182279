"""Stage 1: find PFOCR figure records and read them, with their companion tables.

A record is a Markdown file whose YAML front matter sits between the first two ``---``
lines.  Its gene/chemical/disease tables are ``_data/<figid>-{genes,chemicals,diseases}.tsv``
beside the ``_figures/`` folder (current layout) or inline ``genes:``/``chemicals:``/
``diseases:`` lists (older layout).  Both layouts are read into one :class:`Record`.

Anything wrong with a record raises :class:`RecordError`, which names the file, the line
(when known), the field and the reason, so one bad record can be reported and skipped.
"""

from __future__ import annotations

import csv
import hashlib
import os
import re
from array import array
from dataclasses import dataclass, field
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
TABLE_COLUMNS = {
    "genes": ("organism_id", "organism_name", "word", "match", "ncbigene_symbol", "ncbigene_id", "source"),
    "chemicals": ("word", "mesh", "match", "name", "chebi"),
    "diseases": ("word", "mesh", "match", "name", "doid"),
}
MAX_RECORD_BYTES = 16 * 1024 * 1024
HUMAN_TAXID = "9606"


class RecordError(Exception):
    """A record that cannot be converted: where it is and why."""

    def __init__(self, path: Path | str, reason: str, line: int | None = None, field: str | None = None):
        self.path = str(path)
        self.reason = reason
        self.line = line
        self.field = field
        super().__init__(str(self))

    def __str__(self) -> str:
        where = self.path if self.line is None else f"{self.path}:{self.line}"
        what = f" [{self.field}]" if self.field else ""
        return f"{where}:{what} {self.reason}"

    def __reduce__(self):  # survives the trip back from worker processes
        return (RecordError, (self.path, self.reason, self.line, self.field))

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.path, "line": self.line, "field": self.field, "reason": self.reason}


@dataclass(frozen=True)
class Location:
    """A file and 1-based line, for error messages."""

    path: str
    line: int | None = None


@dataclass(frozen=True)
class GeneRow:
    """One OCR gene match: the OCR ``word`` mapped (via ``match``/``source``) to an NCBI gene."""

    word: str
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

    word: str
    mesh: str | None
    match: str | None
    name: str | None
    xref: str | None
    source: str | None
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

    @property
    def figid(self) -> str:
        return self.fields["figid"]

    def line_of(self, key: str) -> int | None:
        """1-based line of the top-level front-matter ``key`` in the record file."""
        pattern = re.compile(rf"^['\"]?{re.escape(key)}['\"]?\s*:")
        for number, text in enumerate(self.front_matter.split("\n"), start=2):  # not splitlines(): U+2028...
            if pattern.match(text):
                return number
        return None

    def error(self, key: str, reason: str) -> RecordError:
        """A :class:`RecordError` pointing at front-matter ``key``."""
        return RecordError(self.path, reason, self.line_of(key), key)


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
    """Read and normalise one record with its tables; raises :class:`RecordError`."""
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
        raise RecordError(path, "missing required field 'figid'", 1, "figid")
    fields["figid"] = fig
    record = Record(path=path, fields=fields, front_matter=front_matter, digest="")
    _read_inline_tables(record)
    tables = companion_tables(source, fig)
    for kind, (table, data) in tables.items():
        _read_table(record, kind, table, data)
    record.digest = content_digest(raw, fig, tables)
    return record


def companion_tables(source: RecordSource, fig: str) -> dict[str, tuple[Path, bytes]]:
    """``kind -> (path, bytes)`` of the record's ``_data/<figid>-<kind>.tsv`` tables that exist."""
    tables: dict[str, tuple[Path, bytes]] = {}
    if source.data_dir is not None:
        for kind in TABLE_KINDS:
            table = source.data_dir / f"{fig}-{kind}.tsv"
            if table.is_file():
                tables[kind] = (table, table.read_bytes())
    return tables


def content_digest(raw: bytes, fig: str, tables: dict[str, tuple[Path, bytes]]) -> str:
    """SHA-256 of a record file and its tables (names included): what incremental builds compare."""
    digest = hashlib.sha256(raw)
    for kind, (_, data) in tables.items():
        digest.update(f"\0{fig}-{kind}\0".encode())
        digest.update(data)
    return digest.hexdigest()


def quick_digest(source: RecordSource) -> str | None:
    """The digest :func:`read_record` would give, without parsing YAML: tables are looked up
    by the file name's stem, which is the figid in PFOCR data (if not, the digests differ and
    the record is simply re-read).  ``None`` if the file cannot be read."""
    try:
        raw = source.path.read_bytes()
        fig = source.path.stem
        return content_digest(raw, fig, companion_tables(source, fig))
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


def parse_front_matter(front_matter: str, path: Path | str) -> dict[str, Any]:
    """Safe-load the YAML front matter into a mapping; reject tags, aliases and non-mappings."""
    try:
        fields = yaml.load(front_matter, Loader=SafeLoader)  # noqa: S506 - safe loader
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 2 if mark is not None else None
        problem = exc.problem or exc.context or "invalid YAML"
        if isinstance(exc, yaml.constructor.ConstructorError) and "tag" in str(problem):
            problem = f"YAML tag not allowed ({problem.split('tag')[-1].strip()})"
        raise RecordError(path, f"invalid YAML front matter: {problem}", line) from None
    except yaml.YAMLError as exc:
        raise RecordError(path, f"invalid YAML front matter: {exc}", None) from None
    if not isinstance(fields, dict):
        kind = "empty" if fields is None else type(fields).__name__
        raise RecordError(path, f"front matter must be a YAML mapping, not {kind}", 2)
    if "*" in front_matter:  # an alias needs a '*': most records can skip the walk
        _reject_shared_nodes(fields, path)
    return {str(k): v for k, v in fields.items()}


def _reject_shared_nodes(fields: Any, path: Path | str) -> None:
    """Refuse YAML aliases of collections: a record never needs them and they allow alias bombs."""
    seen: set[int] = set()
    stack = [fields]
    while stack:
        node = stack.pop()
        if isinstance(node, (dict, list)):
            if id(node) in seen:
                raise RecordError(path, "YAML aliases (*name) of lists or mappings are not allowed (possible alias bomb)")
            seen.add(id(node))
            stack.extend(node.values() if isinstance(node, dict) else node)


# --------------------------------------------------------------------------- tables


def _read_table(record: Record, kind: str, path: Path, data: bytes) -> None:
    text = _decode(data, path)
    # Rows end at "\n" (or "\r\n") only: str.splitlines() would also break a row at the
    # U+0085, U+2028, \v, \f... that OCR text can hold, and mis-number the lines after it.
    lines = [line[:-1] if line.endswith("\r") else line for line in text.split("\n")]
    rows = csv.reader(lines, delimiter="\t", quoting=csv.QUOTE_NONE)
    try:
        _read_rows(record, kind, path, rows)
    except csv.Error as exc:  # a lone carriage return inside a cell
        raise RecordError(path, f"bad TSV row: {exc}", rows.line_num) from None


def _read_rows(record: Record, kind: str, path: Path, rows: Iterator[list[str]]) -> None:
    header = next(rows, None)
    if not header:  # an empty file: no rows
        return
    header = [h.strip() for h in header]
    missing = [c for c in TABLE_COLUMNS[kind] if c not in header]
    if missing:
        raise RecordError(path, f"{kind} table lacks column(s) {', '.join(missing)}", 1, missing[0])
    index = {name: i for i, name in enumerate(header)}
    for number, row in enumerate(rows, start=2):
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise RecordError(path, f"row has {len(row)} fields, header has {len(header)}", number)
        cell = {name: value(row[i]) for name, i in index.items()}
        where = Location(str(path), number)
        word = cell["word"]
        if word is None:
            raise RecordError(path, "empty OCR word", number, "word")
        if kind == "genes":
            record.genes.append(
                GeneRow(word, cell["match"], cell["source"], cell["ncbigene_id"], cell["ncbigene_symbol"],
                        cell["organism_id"], cell["organism_name"], where)
            )
        else:
            xref = cell["chebi" if kind == "chemicals" else "doid"]
            target = record.chemicals if kind == "chemicals" else record.diseases
            target.append(TermRow(word, cell["mesh"], cell["match"], cell["name"], xref, None, where))


def _read_inline_tables(record: Record) -> None:
    """Older layout: inline ``genes`` (word, symbol, source, hgnc_symbol, entrez) and
    ``chemicals``/``diseases`` (word, source, identifier) lists."""
    for kind in TABLE_KINDS:
        items = record.fields.get(kind)
        if items is None or items == [] or (isinstance(items, str) and value(items) is None):
            continue
        if not isinstance(items, list):
            raise record.error(kind, f"'{kind}' must be a list of mappings")
        where = Location(str(record.path), record.line_of(kind))
        for position, item in enumerate(items):
            if not isinstance(item, dict):
                raise record.error(kind, f"item {position + 1} of '{kind}' is not a mapping")
            word = value(item.get("word"))
            if word is None:
                continue  # an OCR hit with no word carries nothing to keep
            if kind == "genes":
                symbol = value(item.get("hgnc_symbol"))
                taxid, organism = (HUMAN_TAXID, "Homo sapiens") if symbol else (None, None)  # HGNC is human-only
                record.genes.append(
                    GeneRow(word, value(item.get("symbol")), value(item.get("source")), value(item.get("entrez")),
                            symbol, taxid, organism, where)
                )
            else:
                source = value(item.get("source"))
                ident = value(item.get("identifier"))
                mesh = ident if source is not None and source.upper() == "MESH" else None
                target = record.chemicals if kind == "chemicals" else record.diseases
                target.append(TermRow(word, mesh, None, None, None, source, where))


def iter_records(sources: Iterable[RecordSource]) -> Iterator[Record | RecordError]:
    """Read each source in turn, yielding the record or the error that rejected it."""
    for source in sources:
        try:
            yield read_record(source)
        except RecordError as exc:
            yield exc
