"""Fuzzing: real sample records and tables, mutated by hypothesis, through ``kg build``.

Invariants, whatever the input: no traceback and no unnamed error; exit status 0, 1 or 2;
every output re-parses with pyoxigraph and rdflib to the same count, with no duplicate
statement; every reject or warning names its file and a reason.  The number of examples is
bounded (``KG_FUZZ_EXAMPLES``, default 40) and derandomized so CI stays fast and repeatable;
raise it and set ``KG_FUZZ_RANDOM=1`` to attack harder."""

from __future__ import annotations

import io
import json
import os
import shutil
import tempfile
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pyoxigraph as ox
import rdflib
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import SAMPLE
from kg.cli import main

RECORDS = sorted((SAMPLE / "_figures").glob("*.md"))
TABLES = sorted((SAMPLE / "_data").glob("*.tsv"))
EXAMPLES = int(os.environ.get("KG_FUZZ_EXAMPLES", "40"))
NASTY = ["", "NA", "'", '"', ":", "- ", "&a", "*a", "!!python/object:os.system", "{", "[", "\t", "\x00", "\ufeff",
         "\uFFFF", "http://[::1/x", "http://x.org/%zz", "1e999999999", "-1", "2023-13-45", "<script>", "#", "\\",
         "\u202e", "x" * 300, "ñ", "@id", "{\"@context\": \"http://evil.example/\"}", "\r", "\n---\n"]

text_piece = st.one_of(st.sampled_from(NASTY), st.text(max_size=20))


@st.composite
def mutation(draw):
    kind = draw(st.sampled_from(["replace", "insert", "delete", "duplicate", "truncate", "swap-value"]))
    return kind, draw(st.integers(0, 10_000)), draw(text_piece)


def mutate(text: str, steps) -> str:
    lines = text.split("\n")
    for kind, position, piece in steps:
        if not lines:
            lines = [piece]
            continue
        i = position % len(lines)
        if kind == "replace":
            line = lines[i]
            cut = position % (len(line) + 1)
            lines[i] = line[:cut] + piece + line[cut + len(piece):]
        elif kind == "insert":
            lines.insert(i, piece)
        elif kind == "delete":
            del lines[i]
        elif kind == "duplicate":
            lines.insert(i, lines[i])
        elif kind == "truncate":
            lines = lines[: i + 1]
        elif kind == "swap-value":
            key, sep, _ = lines[i].partition(":") if ":" in lines[i] else lines[i].partition("\t")
            lines[i] = f"{key}{sep} {piece}" if sep == ":" else f"{key}{sep}{piece}"
    return "\n".join(lines)


def check_output(path: Path, fmt: str) -> None:
    if not path.exists():
        return
    data = path.read_bytes()
    rdf = {"nt": ox.RdfFormat.N_TRIPLES, "nq": ox.RdfFormat.N_QUADS, "ttl": ox.RdfFormat.TURTLE}[fmt]
    quads = list(ox.parse(data, format=rdf))
    assert len(set(quads)) == len(quads), "duplicate statements"
    if fmt == "ttl":
        assert len(rdflib.Graph().parse(data=data.decode("utf-8"), format="turtle")) == len(quads)
    elif fmt == "nt":
        assert len(rdflib.Graph().parse(data=data.decode("utf-8"), format="nt")) == len(quads)
        assert data.count(b"\n") == len(quads)
    else:
        dataset = rdflib.Dataset()
        dataset.parse(data=data.decode("utf-8"), format="nquads")
        assert len(set(dataset.quads((None, None, None, None)))) == len(quads)


@settings(max_examples=EXAMPLES, deadline=None, derandomize=not os.environ.get("KG_FUZZ_RANDOM"),
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(record=st.sampled_from(RECORDS), table=st.sampled_from(TABLES),
       record_steps=st.lists(mutation(), max_size=4), table_steps=st.lists(mutation(), max_size=3),
       fmt=st.sampled_from(["nt", "ttl", "nq"]))
def test_mutated_records_keep_every_invariant(record, table, record_steps, table_steps, fmt):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "corpus"
        (root / "_figures").mkdir(parents=True)
        (root / "_data").mkdir()
        good = RECORDS[0] if record != RECORDS[0] else RECORDS[1]
        for source in (record, good):
            shutil.copy(source, root / "_figures")
            for t in (SAMPLE / "_data").glob(f"{source.stem}-*.tsv"):
                shutil.copy(t, root / "_data")
        shutil.copy(table, root / "_data")
        target = root / "_figures" / record.name
        target.write_bytes(mutate(record.read_text(encoding="utf-8"), record_steps).encode("utf-8", "surrogatepass"))
        tpath = root / "_data" / table.name
        tpath.write_bytes(mutate(table.read_text(encoding="utf-8"), table_steps).encode("utf-8", "surrogatepass"))
        out, rejects = Path(tmp) / f"out.{fmt}", Path(tmp) / "rejects.jsonl"
        err = io.StringIO()
        with redirect_stderr(err), redirect_stdout(io.StringIO()):
            status = main(["build", str(root), "-o", str(out), "--rejects", str(rejects), "-q", "-j", "1"])
        stderr = err.getvalue()
        assert status in (0, 1, 2), stderr
        assert "Traceback" not in stderr and "unexpected error" not in stderr.lower(), stderr
        for line in stderr.splitlines():  # every message line is kg's own, never a bare exception
            assert line.startswith(("kg:", "rejected", "warning")) or " records read" in line, line
        if status == 2:
            return
        check_output(out, fmt)
        for item in map(json.loads, rejects.read_text(encoding="utf-8").splitlines()):
            assert item["file"] and item["reason"], item
            assert Path(item["file"]).exists(), item
        subjects = {q.subject.value for q in ox.parse(path=str(out), format={"nt": ox.RdfFormat.N_TRIPLES,
                    "nq": ox.RdfFormat.N_QUADS, "ttl": ox.RdfFormat.TURTLE}[fmt])}
        assert any(good.stem in s for s in subjects), "the untouched record must always convert"
