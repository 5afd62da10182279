"""Files are sacred: kg writes only what it created in that run, never an input, never a
user's file in a shard folder; ``-o -`` and special files stream; links keep being links.
Also: the Python API is safe in a plain script (no ``__main__`` guard, ``python -``)."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pyoxigraph as ox
import pytest
import rdflib

from conftest import SAMPLE
from kg.cli import main
from kg.outputs import OutputError, remove_stale_temporaries
from kg.pipeline import build
from kg.sinks.shards import MANIFEST

FIGURES = SAMPLE / "_figures"
ONE = "PMC10003241__ijms-24-04893-g003"


def nt_count(data: bytes, fmt=ox.RdfFormat.N_TRIPLES) -> int:
    return sum(1 for _ in ox.parse(data, format=fmt))


@pytest.fixture(scope="module")
def sample_nt(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("nt") / "sample.nt"
    build([SAMPLE], out)
    return out


def shard_statements(folder: Path) -> int:
    manifest = json.loads((folder / MANIFEST).read_text())
    return sum(nt_count(gzip.decompress((folder / f["name"]).read_bytes())) for f in manifest["files"])


# --------------------------------------------------------------------------- shard folders


def test_shards_refuse_a_folder_holding_user_files(tmp_path, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "analysis.py").write_text("print('precious')\n")
    (out / "results.csv").write_text("a,b\n1,2\n")
    status = main(["build", str(SAMPLE), "--format", "nt", "--split-lines", "500", "-o", str(out), "-q"])
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 2
    assert len(err) == 1 and "analysis.py" in err[0] and str(out) in err[0], err
    assert sorted(p.name for p in out.iterdir()) == ["analysis.py", "results.csv"]
    assert (out / "analysis.py").read_text() == "print('precious')\n"


def test_shards_into_new_or_empty_folder_then_rebuilt_in_place(tmp_path, sample_nt):
    expected = nt_count(sample_nt.read_bytes())
    empty = tmp_path / "empty"
    empty.mkdir()
    for folder in (tmp_path / "new" / "deeper", empty):
        build([SAMPLE], folder, format="nt", shard_lines=400)
        assert (folder / MANIFEST).is_file()
        assert shard_statements(folder) == expected
    # a rebuild with other shard sizes replaces only kg's own shards: no stale shard left
    first = sorted(p.name for p in empty.iterdir())
    build([SAMPLE], empty, format="nt", shard_lines=100_000)
    after = sorted(p.name for p in empty.iterdir())
    assert len(after) < len(first) and MANIFEST in after
    assert shard_statements(empty) == expected
    assert not [p for p in empty.parent.iterdir() if p.name.startswith(".")]


def test_shards_refuse_once_a_user_file_joins_kg_shards(tmp_path):
    out = tmp_path / "shards"
    build([SAMPLE], out, format="nt", shard_lines=400)
    (out / "notes.txt").write_text("mine")
    with pytest.raises(OutputError, match="notes.txt"):
        build([SAMPLE], out, format="nt", shard_lines=400)
    assert (out / "notes.txt").read_text() == "mine"
    assert (out / MANIFEST).is_file()


def test_a_regular_output_never_replaces_a_folder(tmp_path, capsys):
    folder = tmp_path / "out.ttl"
    folder.mkdir()
    (folder / "keep").write_text("x")
    assert main(["build", str(SAMPLE), "-o", str(folder), "-q"]) == 2
    assert "folder" in capsys.readouterr().err
    assert (folder / "keep").read_text() == "x"


# --------------------------------------------------------------------------- inputs


def copy_sample(tmp_path: Path) -> Path:
    root = tmp_path / "records"
    shutil.copytree(SAMPLE, root)
    return root


@pytest.mark.parametrize("where", ["record", "table", "rejects-on-record", "folder", "direct-file"])
def test_output_naming_an_input_is_refused(tmp_path, capsys, where):
    root = copy_sample(tmp_path)
    record = root / "_figures" / f"{ONE}.md"
    table = root / "_data" / f"{ONE}-genes.tsv"
    sources, argv = [str(root)], ["-o", str(tmp_path / "x.ttl")]
    if where == "record":
        argv = ["-o", str(record)]
    elif where == "table":
        argv = ["-o", str(table)]
    elif where == "rejects-on-record":
        argv += ["--rejects", str(record)]
    elif where == "folder":
        argv = ["-o", str(root / "_figures"), "--format", "nt", "--split-lines", "100"]
    else:
        sources, argv = [str(record)], ["-o", str(record)]
    before = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    status = main(["build", *sources, *argv, "-q"])
    err = capsys.readouterr().err
    assert status == 2, err
    assert err.count("\n") == 1 and "refusing" in err
    assert {p: p.read_bytes() for p in root.rglob("*") if p.is_file()} == before


def test_output_through_a_link_to_an_input_is_refused(tmp_path):
    root = copy_sample(tmp_path)
    link = tmp_path / "innocent.ttl"
    link.symlink_to(root / "_figures" / f"{ONE}.md")
    with pytest.raises(OutputError, match="input record"):
        build([root], link)


# --------------------------------------------------------------------------- stdout, special files, links


@pytest.mark.parametrize("fmt,rdf", [("nt", ox.RdfFormat.N_TRIPLES), ("nq", ox.RdfFormat.N_QUADS),
                                     ("turtle", ox.RdfFormat.TURTLE)])
def test_dash_streams_to_stdout(tmp_path, sample_nt, fmt, rdf):
    run = subprocess.run([sys.executable, "-m", "kg.cli", "build", str(SAMPLE), "--format", fmt, "-o", "-", "-q"],
                         capture_output=True, cwd=tmp_path, timeout=300)
    assert run.returncode == 0, run.stderr
    assert not (tmp_path / "-").exists()
    expected = nt_count(sample_nt.read_bytes())
    if fmt == "nq":
        triples = {(q.subject, q.predicate, q.object) for q in ox.parse(run.stdout, format=rdf)}
        assert len(triples) == expected
    else:
        assert nt_count(run.stdout, rdf) == expected
    if fmt == "turtle":
        assert len(rdflib.Graph().parse(data=run.stdout.decode(), format="turtle")) == expected


def test_dev_stdout_is_written_not_replaced(tmp_path, sample_nt):
    run = subprocess.run([sys.executable, "-m", "kg.cli", "build", str(SAMPLE), "--format", "nt",
                          "-o", "/dev/stdout", "-q"], capture_output=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert nt_count(run.stdout) == nt_count(sample_nt.read_bytes())
    assert Path("/dev/stdout").is_symlink() or not Path("/dev/stdout").is_file()


def test_named_pipe_is_written_in_place(tmp_path, sample_nt):
    fifo = tmp_path / "pipe.nt"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    build([SAMPLE], fifo, format="nt")
    reader.join(timeout=60)
    assert fifo.is_fifo()
    assert nt_count(received[0]) == nt_count(sample_nt.read_bytes())


def test_symlink_output_writes_its_target(tmp_path, sample_nt):
    target = tmp_path / "real" / "graph.nt"
    target.parent.mkdir()
    target.write_text("old\n")
    link = tmp_path / "link.nt"
    link.symlink_to(target)
    build([SAMPLE], link)
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_bytes() == sample_nt.read_bytes()


def test_temporaries_of_dead_runs_are_removed_live_ones_kept(tmp_path):
    target = tmp_path / "graph.ttl"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_tmp = tmp_path / f".graph.ttl.kg-{dead.stdout.strip()}-abc.tmp"
    live_tmp = tmp_path / f".graph.ttl.kg-{os.getpid()}-abc.tmp"
    other = tmp_path / ".graph.ttl.swp"
    for p in (dead_tmp, live_tmp, other):
        p.write_text("x")
    remove_stale_temporaries(target)
    assert not dead_tmp.exists() and live_tmp.exists() and other.exists()


# --------------------------------------------------------------------------- the API in plain scripts


SCRIPT = """\
import kg
report = kg.build([{sample!r}], {out!r}, jobs=2)
print("built", report.converted, report.triples)
"""


@pytest.mark.parametrize("how", ["file", "stdin"])
def test_script_without_main_guard_builds_with_two_jobs(tmp_path, sample_nt, how):
    out = tmp_path / "graph.nt"
    code = SCRIPT.format(sample=str(SAMPLE), out=str(out))
    if how == "file":
        script = tmp_path / "my_script.py"
        script.write_text(code)
        run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    else:
        run = subprocess.run([sys.executable, "-"], input=code, capture_output=True, text=True, cwd=tmp_path,
                             timeout=300)
    assert run.returncode == 0, run.stderr
    assert run.stdout.count("built") == 1, run.stdout  # the script ran once: workers never re-import it
    assert "Traceback" not in run.stderr
    assert out.read_bytes() == sample_nt.read_bytes()  # N-Triples, from the extension


def test_api_picks_the_format_from_the_extension(tmp_path, sample_nt):
    for name, rdf in (("g.nt", ox.RdfFormat.N_TRIPLES), ("g.nq", ox.RdfFormat.N_QUADS),
                      ("g.ttl", ox.RdfFormat.TURTLE), ("g.jsonld", ox.RdfFormat.JSON_LD)):
        build([SAMPLE], tmp_path / name)
        quads = list(ox.parse(path=str(tmp_path / name), format=rdf))
        assert len({(q.subject, q.predicate, q.object) for q in quads}) == nt_count(sample_nt.read_bytes())
