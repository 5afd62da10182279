"""Where kg's output files go, written so that no user file is ever lost.

* A regular file is written to a temporary file beside it and renamed over it only when the
  write succeeded (a failed or killed run keeps the old file); a symbolic link is followed
  and its target replaced, so the link stays a link.
* ``-`` is standard output; a special file (``/dev/stdout``, a named pipe, a device) is
  written to in place, never replaced.
* A temporary file left behind by a killed run (``.NAME.kg-PID-….tmp``) is removed by the
  next run that writes ``NAME``, once its process is gone.
"""

from __future__ import annotations

import os
import shutil
import stat
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Iterator

from .errors import KgError

STDOUT = "-"


class OutputError(KgError):
    """An output kg refuses to write (it would replace an input or a file kg did not write)."""


def is_stdout(path: str | Path | None) -> bool:
    return str(path) == STDOUT


def is_special(path: str | Path) -> bool:
    """True for an existing file that is not a regular file or folder (device, pipe, socket)."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def _temp_prefix(target: Path) -> str:
    return f".{target.name}.kg-"


def remove_stale_temporaries(target: Path) -> None:
    """Remove temporaries of ``target`` left by kg runs that were killed (their pid is gone)."""
    try:
        entries = list(os.scandir(target.parent))
    except OSError:
        return
    prefix = _temp_prefix(target)
    for entry in entries:
        if not (entry.name.startswith(prefix) and entry.name.endswith(".tmp")):
            continue
        pid = entry.name[len(prefix):].split("-", 1)[0]
        if pid.isdigit() and not process_alive(int(pid)):
            shutil.rmtree(entry.path, ignore_errors=True) if entry.is_dir(follow_symlinks=False) else _unlink(entry.path)


def process_alive(pid: int) -> bool:
    """True while process ``pid`` exists (a kg run that may still be writing)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` (or beside the file a link points to); on
    success it replaces that file, on error it is removed.  A folder is never replaced."""
    target = Path(os.path.realpath(path)) if os.path.islink(path) else Path(path)
    if target.is_dir():
        raise OutputError(f"{path} is a folder; give a file name (kg never replaces a folder)")
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(target)
    tmp_path = Path(tempfile.mkdtemp(prefix=f"{_temp_prefix(target)}{os.getpid()}-", suffix=".tmp",
                                     dir=target.parent))
    tmp_path.rmdir()  # the caller makes a file or a folder here
    try:
        yield tmp_path
        if tmp_path.is_file():
            with open(tmp_path, "rb") as fh:
                os.fsync(fh.fileno())
        os.replace(tmp_path, target)
    finally:
        if tmp_path.is_dir():
            shutil.rmtree(tmp_path, ignore_errors=True)
        elif tmp_path.exists():
            tmp_path.unlink()


@contextmanager
def open_output(path: str | Path, mode: str = "wb") -> Iterator[IO]:
    """Open an output for writing: ``-`` is standard output, a special file is written in
    place, anything else atomically (see the module docstring)."""
    text = "b" not in mode
    if is_stdout(path):
        stream = sys.stdout if text else sys.stdout.buffer
        yield stream
        stream.flush()
    elif is_special(path):
        with open(path, mode, **({"encoding": "utf-8"} if text else {})) as fh:
            yield fh
    else:
        with atomic_path(path) as tmp:
            with open(tmp, mode, **({"encoding": "utf-8"} if text else {"buffering": 1 << 20})) as fh:
                yield fh
