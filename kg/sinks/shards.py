"""The shards sink: a folder of gzipped N-Triples or N-Quads shards for bulk loaders.

Shards are named ``part-00000.nt.gz``... and hold at most ``shard_lines`` statements each
(a figure's own statements are never split unless they alone exceed a shard).  The folder
gets a manifest, ``kg-shards.json``, listing the shards kg wrote there.  kg writes shards
only into a new folder, an empty one, or one that holds nothing but its own shards and
manifest from an earlier run: those shards are replaced, and anything else in the folder
makes kg refuse with one line, so a user's files are never touched.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import tempfile
from pathlib import Path

from .. import __version__, formats
from ..outputs import OutputError, is_stdout, process_alive, remove_stale_temporaries
from ..serialize import Figure, OutputPieces
from . import Sink, SinkStats

MANIFEST = "kg-shards.json"
_STAGING = ".kg-staging-"


def own_files(folder: Path) -> list[str]:
    """The shard files kg's manifest in ``folder`` lists (none if there is no manifest)."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text("utf-8"))
        return [str(entry["name"]) for entry in manifest["files"]]
    except FileNotFoundError:
        return []
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise OutputError(f"{folder / MANIFEST} is not a kg shard manifest ({exc}); refusing to touch {folder}") from None


def check_shard_folder(folder: Path) -> list[str]:
    """Refuse (:class:`OutputError`) a folder holding anything kg did not write; return the
    shard files of the earlier run it may replace."""
    if is_stdout(folder):
        raise OutputError("sharded output goes to a folder, not to standard output (-o -)")
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"{folder} is a file; shards go into a new or empty folder, or one kg wrote shards to")
    if not folder.exists():
        return []
    ours = own_files(folder)
    allowed = {MANIFEST, *ours}
    foreign = sorted(e.name for e in os.scandir(folder) if e.name not in allowed and not e.name.startswith((_STAGING, f".{MANIFEST}.kg-")))
    if foreign:
        shown = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
        raise OutputError(f"refusing to write shards into {folder}: it holds files kg did not write ({shown}); "
                          "use a new or empty folder")
    return ours


class ShardSink(Sink):
    """Write figures as gzipped ``fmt`` shards of at most ``shard_lines`` lines into ``folder``."""

    def __init__(self, folder: str | Path, fmt: str = "nt", shard_lines: int = 1_000_000):
        self.format = formats.get(fmt)
        if not self.format.shardable:
            raise ValueError("sharded output is for N-Triples or N-Quads (--format nt or nq)")
        if shard_lines < 1:
            raise ValueError("shard size must be at least one line")
        self.folder = Path(folder)
        self.render = self.format.name
        self.shard_lines = shard_lines
        self._previous = check_shard_folder(self.folder)
        self.folder.parent.mkdir(parents=True, exist_ok=True)
        if self.folder.exists():  # staged inside, so the renames below stay on one file system
            for entry in os.scandir(self.folder):
                if entry.name.startswith(_STAGING) and not _owner_alive(entry.name):
                    shutil.rmtree(entry.path, ignore_errors=True)
            self._staging = Path(tempfile.mkdtemp(prefix=f"{_STAGING}{os.getpid()}-", dir=self.folder))
        else:
            remove_stale_temporaries(self.folder)
            self._staging = Path(tempfile.mkdtemp(prefix=f".{self.folder.name}.kg-{os.getpid()}-", suffix=".tmp",
                                                  dir=self.folder.parent))
        self._pieces = OutputPieces(self.format.name)
        self._files: list[dict] = []
        self._shard: gzip.GzipFile | None = None
        self._used = 0

    def write(self, figure: Figure) -> None:
        for data, lines in self._pieces.add(figure):
            self._put(data, lines)

    def _put(self, data: bytes, lines: int) -> None:
        if not lines:
            return
        if self._shard is None or (self._used and self._used + lines > self.shard_lines):
            self._close_shard()
            name = f"part-{len(self._files):05d}{self.format.extension}.gz"
            self._shard = gzip.GzipFile(self._staging / name, "wb", compresslevel=6, mtime=0)
            self._files.append({"name": name, "statements": 0})
        self._shard.write(data)
        self._used += lines
        self._files[-1]["statements"] += lines

    def _close_shard(self) -> None:
        if self._shard is not None:
            self._shard.close()
            self._shard = None
            self._used = 0

    def close(self) -> SinkStats:
        try:
            for data, lines in self._pieces.finish():
                self._put(data, lines)
            self._close_shard()
            manifest = {"generator": f"kg {__version__}", "format": self.format.name,
                        "media_type": self.format.media_type, "shard_lines": self.shard_lines,
                        "statements": self._pieces.statements, "files": self._files}
            _write_json(self._staging / MANIFEST, manifest)
            self._commit()
        except BaseException:
            self.abort()
            raise
        return SinkStats(statements=self._pieces.statements, files=len(self._files))

    def _commit(self) -> None:
        if not self.folder.exists():
            self._staging.rename(self.folder)
            return
        check_shard_folder(self.folder)  # still only ours
        new = {entry["name"] for entry in self._files}
        # First list old and new shards, so that a run killed below leaves only files the
        # manifest names (the next run may then replace them); then the final manifest.
        both = [{"name": name} for name in sorted(new | set(self._previous))]
        _write_json(self.folder / MANIFEST, {"generator": f"kg {__version__}", "files": both, "incomplete": True})
        for name in new:
            os.replace(self._staging / name, self.folder / name)
        for name in set(self._previous) - new:
            try:
                (self.folder / name).unlink()
            except FileNotFoundError:
                pass
        os.replace(self._staging / MANIFEST, self.folder / MANIFEST)
        self._staging.rmdir()

    def abort(self) -> None:
        if self._shard is not None:
            self._shard.close()
            self._shard = None
        shutil.rmtree(self._staging, ignore_errors=True)



def _owner_alive(name: str) -> bool:
    pid = name[len(_STAGING):].split("-", 1)[0]
    return pid.isdigit() and process_alive(int(pid))


def _write_json(path: Path, data: dict) -> None:
    tmp = path.with_name(f".{path.name}.kg-{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=1) + "\n", "utf-8")
    os.replace(tmp, path)
