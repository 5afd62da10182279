"""Sinks: where the pipeline's figure graphs go (a file, shards, the store, a remote store).

:func:`kg.pipeline.build` reads and maps records (in worker processes) and hands each figure
to every sink, in figid order.  A sink is one module with one class following :class:`Sink`:

* ``prepare``: a picklable callable run on each :class:`~kg.mapping.FigureGraph` where it
  is mapped (in the workers), whose result the sink's ``write`` receives; ``None`` to
  receive plain figures.  By default the :class:`~kg.serialize.Renderer` of ``render``
  (a file format), if any.  With several sinks the workers prepare a figure for each.
* ``skip(source)``: ``(figid, figure IRI, warnings)`` for a record the sink already holds
  unchanged (incremental stores), else ``None``; only a build with that one sink skips records.
* ``write(figure)`` once per figure, then ``close()`` (commit; returns :class:`SinkStats`)
  or ``abort()`` (leave everything as it was before the build).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

from ..records import RecordSource


@dataclass
class SinkStats:
    """What a sink wrote: statements (triples or quads), files, figures it kept unchanged and
    figures it removed."""

    statements: int = 0
    files: int = 0
    unchanged: int = 0
    removed: int = 0
    changed: int = 0  # figures added, changed or removed by an update


class Sink:
    """Base class of the sinks (see the module docstring)."""

    render: str | None = None

    @property
    def prepare(self) -> Callable[[Any], Any] | None:
        if self.render is None:
            return None
        from ..serialize import Renderer

        return Renderer(self.render)

    def skip(self, source: RecordSource) -> tuple | None:
        return None

    def unskip(self, figid: str) -> None:
        """A record ``skip`` held turned out to be rejected (a duplicate)."""

    def write(self, figure: Any) -> None:
        raise NotImplementedError

    def close(self) -> SinkStats:
        raise NotImplementedError

    def abort(self) -> None:
        """Undo what ``write`` did (default: nothing to undo)."""


def output_sink(path: str | Path, fmt: str, shard_lines: int | None = None) -> Sink:
    """The sink for ``-o path``: a folder of shards with ``shard_lines``, else one file."""
    if shard_lines is not None:
        from .shards import ShardSink

        return ShardSink(path, fmt, shard_lines)
    from .file import FileSink

    return FileSink(path, fmt)


def write_graphs(figures: Iterable[Any], path: str | Path, fmt: str = "turtle",
                 shard_lines: int | None = None) -> SinkStats:
    """Write ``figures`` (plain or rendered for ``fmt``) to ``path``: all or nothing."""
    sink = output_sink(path, fmt, shard_lines)
    try:
        for figure in figures:
            sink.write(figure)
    except BaseException:
        sink.abort()
        raise
    return sink.close()
