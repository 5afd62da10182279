"""The command line's conventions: --store DIR everywhere a store is read, DUMP or --store,
-o with - for standard output, a help text and a default for every option, one-line
errors with exit 2 and never a traceback; each command one call into the Python API."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

import networkx as nx
import pytest

import kg
from kg.cli import main, make_parser
from kg.network import export_network, format_stats, stats
from kg.pipeline import NoRecordsError
from kg.store import DEFAULT_STORE

READERS = ["load", "query", "push", "serve", "network", "stats"]  # every command that reads a store


def subcommands() -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in make_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def one_line_error(captured) -> str:
    assert captured.err.startswith("kg: ") and captured.err.count("\n") == 1, captured.err
    assert "Traceback" not in captured.err
    return captured.err


# --------------------------------------------------------------------------- help and defaults


@pytest.mark.parametrize("name", sorted(subcommands()))
def test_every_option_has_help_and_shows_its_default(name):
    parser = subcommands()[name]
    text = parser.format_help()
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        assert action.help, f"kg {name} {action.dest}: no help text"
        if action.default not in (None, False):
            assert f"(default: {action.default})" in " ".join(text.split()), f"kg {name} {action.dest}"


@pytest.mark.parametrize("name", READERS)
def test_every_reader_takes_store_with_the_same_default(name):
    store = next(a for a in subcommands()[name]._actions if a.dest == "store")
    assert store.option_strings == ["--store"] and store.default == DEFAULT_STORE == "kg-store"
    assert f"(default: {DEFAULT_STORE})" in subcommands()[name].format_help()


def test_no_store_positional_anymore(tmp_path, sample_store, capsys):
    """stats/network/push read a DUMP as their argument; a store folder there gets a hint."""
    for argv in (["stats", str(sample_store)], ["network", str(sample_store), "-o", str(tmp_path / "g.json")],
                 ["push", str(sample_store), "--endpoint", "http://127.0.0.1:9/store"]):
        assert main(argv) == 2
        err = one_line_error(capsys.readouterr())
        assert f"--store {sample_store}" in err
    assert not (tmp_path / "g.json").exists()


def test_dump_and_store_are_exclusive(sample_ttl, sample_store, capsys):
    assert main(["stats", str(sample_ttl), "--store", str(sample_store)]) == 2
    assert "not both" in one_line_error(capsys.readouterr())
    assert main(["query", "ASK {}", "--store", str(sample_store), "--endpoint", "http://127.0.0.1:9/q"]) == 2
    assert "not allowed with" in capsys.readouterr().err


def test_default_store_is_kg_store_in_the_working_folder(tmp_path, sample_store, monkeypatch, capsys):
    (tmp_path / "kg-store").symlink_to(sample_store, target_is_directory=True)
    monkeypatch.chdir(tmp_path)
    assert main(["stats", "--top", "1"]) == 0
    assert capsys.readouterr().out.strip() == format_stats(stats(sample_store, top=1))
    assert main(["query", "ASK { ?f kg:mentionsGene ncbigene:4040 }"]) == 0
    assert capsys.readouterr().out == "true\n"
    assert main(["network", "-o", "g.graphml"]) == 0 and (tmp_path / "g.graphml").is_file()


# --------------------------------------------------------------------------- -o and standard output


def test_network_to_stdout(sample_store, capsys):
    assert main(["network", "--store", str(sample_store), "-o", "-", "--format", "json"]) == 0
    captured = capsys.readouterr()
    back = nx.node_link_graph(json.loads(captured.out))  # networkx's defaults read it
    assert back.number_of_edges() > 0 and "standard output" in captured.err
    assert main(["network", "--store", str(sample_store), "-o", "-"]) == 2
    assert "needs a format" in one_line_error(capsys.readouterr())


def test_network_cli_is_the_api(tmp_path, sample_ttl):
    api, cli = tmp_path / "api.json", tmp_path / "cli.json"
    graph = export_network(sample_ttl, api, kind="bipartite", min_weight=2)
    assert main(["network", str(sample_ttl), "--kind", "bipartite", "--min-weight", "2", "-o", str(cli)]) == 0
    assert api.read_bytes() == cli.read_bytes()
    assert nx.node_link_graph(json.loads(api.read_text("utf-8"))).number_of_nodes() == graph.number_of_nodes()


def test_network_refuses_to_write_its_input(tmp_path, sample_ttl, capsys):
    dump = tmp_path / "g.ttl"
    dump.write_bytes(sample_ttl.read_bytes())
    assert main(["network", str(dump), "-o", str(dump), "--format", "json"]) == 2
    assert "input" in one_line_error(capsys.readouterr())
    assert dump.read_bytes() == sample_ttl.read_bytes()


# --------------------------------------------------------------------------- errors


def test_no_records_is_an_error(tmp_path, sample_dir, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(NoRecordsError, match=str(empty)):
        kg.build([empty], tmp_path / "x.ttl")
    assert main(["build", str(empty), "-o", str(tmp_path / "x.ttl"), "-q"]) == 2
    err = one_line_error(capsys.readouterr())
    assert f"no records in {empty}" in err
    assert not (tmp_path / "x.ttl").exists()
    above = tmp_path / "above"  # a folder one level too high: the hint names the right one
    (above / "pfocr").mkdir(parents=True)
    (above / "pfocr" / "_figures").symlink_to(sample_dir / "_figures", target_is_directory=True)
    assert main(["build", str(above), "--store", str(tmp_path / "s"), "-q"]) == 2
    err = one_line_error(capsys.readouterr())
    assert f"no records in {above}" in err and str(above / "pfocr") in err
    assert not (tmp_path / "s").exists()


@pytest.mark.parametrize("argv", [
    ["query", "top-genes", "--timeout", "0", "--endpoint", "http://127.0.0.1:9/q"],
    ["stats", "--top", "-1"],
    ["network", "--min-weight", "0", "-o", "x.json"],
    ["push", "--chunk-triples", "0", "--endpoint", "http://127.0.0.1:9/store"],
    ["serve", "--port", "70000"],
    ["network"],  # -o is required
])
def test_bad_option_values_are_usage_errors(argv, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "usage: kg" in err and "Traceback" not in err


def test_errors_never_show_a_traceback(tmp_path, sample_ttl):
    """As a user runs it: a separate process, stderr one line, exit 2."""
    bad = tmp_path / "bad.ttl"
    bad.write_text("<a> <b> .\n", "utf-8")
    cases = [
        ["stats", "--store", str(tmp_path / "nowhere")],
        ["stats", str(bad)],
        ["network", str(tmp_path / "missing.ttl"), "-o", str(tmp_path / "g.json")],
        ["query", "SELECT * WHERE { ?s ?p }", "--store", str(tmp_path / "nowhere")],
        ["push", str(sample_ttl), "--endpoint", "ftp://127.0.0.1/x"],
        ["build", str(tmp_path), "-o", str(tmp_path / "x.ttl"), "-q"],
    ]
    for argv in cases:
        run = subprocess.run([sys.executable, "-m", "kg.cli", *argv], capture_output=True, text=True, timeout=120)
        assert run.returncode == 2, (argv, run.stderr)
        assert run.stderr.startswith("kg: ") and run.stderr.count("\n") == 1 and "Traceback" not in run.stderr, argv
        assert run.stdout == ""


def test_closed_pipe_is_quiet(sample_store):
    """`kg query ... | head -0`: the reader is gone before kg writes; no traceback."""
    process = subprocess.Popen([sys.executable, "-m", "kg.cli", "query", "top-genes", "--store", str(sample_store)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdout.close()  # long before the interpreter has started and run the query
    err = process.stderr.read().decode()
    assert process.wait(timeout=120) == 1
    assert "Traceback" not in err and "Exception ignored" not in err, err
