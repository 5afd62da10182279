"""The remote sink: kg's graph sent to a triplestore once the build is complete.

The figures go to a private temporary N-Triples file as they are mapped (each triple once,
memory bounded, as :mod:`kg.sinks.file` writes it); :meth:`RemoteSink.close` then sends it
with :func:`kg.remote.push` (SPARQL 1.1 Graph Store Protocol, chunked, retried, whole
requests bounded by ``timeout``, the server's count checked) and removes it.  The server
is asked once before the build starts, so an unreachable one is reported at once.  Nothing is
sent unless every record was read: a failed or interrupted build leaves the server as it
was.  The push itself is not atomic on the server's side (a server that fails half way
holds the chunks it took; run the build again with ``replace``).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any, Callable

from ..remote import PushReport, check_urls, count_triples, derive_query_endpoint, push
from . import Sink, SinkStats
from .file import FileSink


class RemoteSink(Sink):
    """Send every figure to the Graph Store ``endpoint`` (into ``graph``, or the default
    graph), replacing what the graph held when ``replace``."""

    render = "nt"

    def __init__(self, endpoint: str, *, graph: str | None = None, replace: bool = False, timeout: float = 120.0):
        check_urls(endpoint)
        count_triples(derive_query_endpoint(endpoint) or endpoint, graph, timeout)  # unreachable: say so now
        self.endpoint, self.graph, self.replace, self.timeout = endpoint, graph, replace, timeout
        self.report: PushReport | None = None
        self._folder = Path(tempfile.mkdtemp(prefix="kg-push-"))
        self._file = FileSink(self._folder / "graph.nt", "nt")

    @property
    def prepare(self) -> Callable[[Any], Any] | None:
        return self._file.prepare

    def write(self, figure: Any) -> None:
        self._file.write(figure)

    def close(self) -> SinkStats:
        try:
            self._file.close()
            self.report = push(self._folder / "graph.nt", self.endpoint, graph=self.graph, replace=self.replace,
                               timeout=self.timeout)
        finally:
            shutil.rmtree(self._folder, ignore_errors=True)
        return SinkStats(statements=self.report.triples)

    def abort(self) -> None:
        self._file.abort()
        shutil.rmtree(self._folder, ignore_errors=True)
