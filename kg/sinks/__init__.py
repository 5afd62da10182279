"""Sinks: where the pipeline's figure graphs go (a file, shards, the store, a remote store).

:func:`kg.pipeline.build` reads and maps records (in worker processes) and hands each figure
to every sink, in figid order.  A sink is one module with one class following :class:`Sink`:

* ``render``: the :class:`~kg.serialize.Renderer` format its figures are prepared in where
  they are mapped (in the workers), or ``None`` to receive plain
  :class:`~kg.mapping.FigureGraph` objects.  With several sinks every sink gets plain figures
  and renders them itself.
* ``skip(source)``: ``True`` for a record the sink already holds unchanged (incremental
  stores); the pipeline skips a record only when every sink says so.
* ``write(figure)`` once per figure, then ``close()`` (commit; returns :class:`SinkStats`)
  or ``abort()`` (leave everything as it was before the build).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from ..records import RecordSource


@dataclass
class SinkStats:
    """What a sink wrote: statements (triples or quads), files, figures it kept unchanged and
    figures it removed."""

    statements: int = 0
    files: int = 0
    unchanged: int = 0
    removed: int = 0


class Sink:
    """Base class of the sinks (see the module docstring)."""

    render: str | None = None

    def skip(self, source: RecordSource) -> bool:
        return False

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
