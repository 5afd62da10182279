"""The sample builds, and the server fixture answers."""

import pyoxigraph as ox


def test_sample_builds(sample_ttl):
    triples = list(ox.parse(path=str(sample_ttl)))
    assert len(triples) > 5000


def test_server_answers(oxigraph_server):
    import urllib.request

    with urllib.request.urlopen(oxigraph_server.query_endpoint + "?query=ASK%7B%7D", timeout=5) as r:
        assert b"boolean" in r.read()
