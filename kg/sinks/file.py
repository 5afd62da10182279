"""The file sink: one Turtle, N-Triples, N-Quads or JSON-LD file, or ``-`` for stdout.

Written through :func:`kg.outputs.open_output`: atomically for a regular file (a failed
build keeps the old file), in place for a special file, streamed to standard output for
``-``.  JSON-LD is written from a temporary N-Triples file once every figure is in, so
memory stays bounded for it too.
"""

from __future__ import annotations

import os
import tempfile
from contextlib import ExitStack
from pathlib import Path

import pyoxigraph as ox

from .. import formats
from ..outputs import open_output
from ..serialize import RENDERED, Figure, OutputPieces, prefix_header
from ..vocab import PREFIXES
from . import Sink, SinkStats


class FileSink(Sink):
    """Write every figure to one file ``path`` in ``fmt`` (a :mod:`kg.formats` name)."""

    def __init__(self, path: str | Path, fmt: str = "turtle"):
        self.format = formats.get(fmt)
        self.path = path
        self.render = self.format.name if self.format.name in RENDERED else None
        self._pieces = OutputPieces("nt" if self.format.name == "jsonld" else self.format.name)
        self._exit = ExitStack()
        self._fh = self._exit.enter_context(open_output(path))
        self._scratch = None
        if self.format.name == "jsonld":  # N-Triples first, JSON-LD at close
            fd, name = tempfile.mkstemp(prefix="kg-jsonld-", suffix=".nt")
            self._scratch = name
            self._out, self._fh = self._fh, os.fdopen(fd, "wb", buffering=1 << 20)
        elif self.format.name == "turtle":
            self._fh.write(prefix_header().encode("utf-8"))

    def write(self, figure: Figure) -> None:
        for data, _ in self._pieces.add(figure):
            self._fh.write(data)

    def close(self) -> SinkStats:
        try:
            for data, _ in self._pieces.finish():
                self._fh.write(data)
            if self._scratch is not None:
                self._fh.close()
                ox.serialize(ox.parse(path=self._scratch, format=ox.RdfFormat.N_TRIPLES), self._out,
                             format=ox.RdfFormat.JSON_LD, prefixes=PREFIXES)
        except BaseException:
            self.abort()
            raise
        self._cleanup()
        self._exit.close()
        return SinkStats(statements=self._pieces.statements, files=1)

    def abort(self) -> None:
        self._cleanup()
        self._exit.__exit__(RuntimeError, RuntimeError("build aborted"), None)

    def _cleanup(self) -> None:
        if self._scratch is not None:
            self._fh.close()
            os.unlink(self._scratch)
            self._scratch = None
