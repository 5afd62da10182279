"""The sample builds, and the server fixture answers."""

import pyoxigraph as ox


def test_sample_builds(sample_ttl):
    triples = list(ox.parse(path=str(sample_ttl)))
    assert len(triples) > 5000


def test_server_answers(oxigraph_server):
    import urllib.request

    with urllib.request.urlopen(oxigraph_server.query_endpoint + "?query=ASK%7B%7D", timeout=5) as r:
        assert b"boolean" in r.read()


def test_api_and_cli_build_the_same(tmp_path, sample_dir):
    """``kg build`` is a thin layer over ``kg.build``: both write the same bytes."""
    import kg
    from kg.cli import main

    api, cli = tmp_path / "api.ttl", tmp_path / "cli.ttl"
    report = kg.build([sample_dir], api)
    assert main(["build", str(sample_dir), "-o", str(cli), "-q", "-j", "1"]) == report.exit_status == 0
    assert api.read_bytes() == cli.read_bytes()
    assert {kg.load, kg.run_query, kg.push, kg.project}  # the documented entry points exist
