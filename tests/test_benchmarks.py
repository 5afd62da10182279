"""The benchmark corpus generator: deterministic, valid for ``kg build``, both layouts, and
``--jobs 1`` / ``--jobs 2`` builds of it byte-identical.  Fast; nothing here is timed."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from kg.pipeline import build

ROOT = Path(__file__).resolve().parent.parent
N = 60


def _generator():
    spec = importlib.util.spec_from_file_location("bench_generate", ROOT / "benchmarks" / "generate.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def corpora(tmp_path_factory) -> dict[str, Path]:
    """Seed 1 twice and seed 2 once, 60 records each."""
    gen = _generator()
    base = tmp_path_factory.mktemp("bench")
    for name, seed in (("a", 1), ("b", 1), ("c", 2)):
        assert len(gen.generate(N, base / name, seed=seed)) == N
    return {name: base / name for name in "abc"}


def test_same_seed_gives_identical_files(corpora):
    a, b = _files(corpora["a"]), _files(corpora["b"])
    assert len([k for k in a if k.startswith("_figures")]) == N
    assert a == b


def test_other_seed_gives_other_records(corpora):
    assert _files(corpora["a"]).keys() != _files(corpora["c"]).keys()


@pytest.mark.parametrize("name", ["a", "c"])
def test_every_record_converts(corpora, name, tmp_path):
    report = build([corpora[name]], tmp_path / "out.ttl")
    assert (report.records_read, report.converted, report.rejected) == (N, N, 0), report.rejects
    assert report.triples > 1000


@pytest.mark.parametrize("name", ["a", "c"])
def test_both_layouts_and_tables_present(corpora, name):
    texts = [p.read_text("utf-8") for p in (corpora[name] / "_figures").glob("*.md")]
    older = [t for t in texts if "\ngenes:" in t]
    assert older and len(older) < len(texts) / 2
    assert all("\norganisms: " in t and "\norganisms:\n" not in t for t in older)  # a string, not a list
    tables = {p.name.rsplit("-", 1)[1] for p in (corpora[name] / "_data").glob("*.tsv")}
    assert tables == {"genes.tsv", "chemicals.tsv", "diseases.tsv"}


@pytest.mark.parametrize("fmt", ["turtle", "nq"])
def test_jobs_1_and_2_outputs_are_byte_identical(corpora, fmt, tmp_path):
    outputs = []
    for jobs in (1, 2):
        out = tmp_path / f"j{jobs}.{fmt}"
        done = subprocess.run([sys.executable, "-m", "kg.cli", "build", str(corpora["a"]), "-o", str(out),
                               "--format", fmt, "--jobs", str(jobs), "-q"], check=False,
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]
    assert len(outputs[0]) > 10_000


def test_query_table_has_a_row_per_library_query_and_a_column_per_size():
    spec = importlib.util.spec_from_file_location("bench_run", ROOT / "benchmarks" / "run.py")
    run = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = run  # dataclasses look their module up
    spec.loader.exec_module(run)
    per = {"top-genes": {"wall": 0.23, "seconds": 0.08, "rows": 25},
           "summary": {"seconds": None, "rows": "timeout > 300 s"}}
    runs = {n: [run.Measure("query library on store", extra={"queries": per})] for n in (1000, 100_000)}
    lines = run.query_table(runs).splitlines()
    assert "N=1000" in lines[0] and "N=100000" in lines[0]
    assert [line.split()[0] for line in lines[2:]] == ["summary", "top-genes"]
    assert "0.23 (0.08)" in lines[3] and "timeout" in lines[2]
