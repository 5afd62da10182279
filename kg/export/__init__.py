"""Exports of the store for other ecosystems: enrichment gene sets (:mod:`kg.export.gmt`,
PFOCR's GMT format) and KG-Hub / Biolink knowledge graphs (:mod:`kg.export.kgx`, KGX TSV).

Both read the store only through :func:`kg.store.open_store` (read-only) and SPARQL over its
merged graph (:func:`kg.store.query`), so they work on every store layout.  A folder output
(``kg export gmt -o DIR/``, ``kg export kgx -o DIR``) follows kg's rule for folders: it must
be new, empty, or hold only the files of an earlier export that kg listed in its manifest
``kg-export.json`` (those are replaced); anything else there makes kg refuse.
"""

from __future__ import annotations

import json
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from .. import __version__, vocab
from ..outputs import OutputError, atomic_path, is_stdout

MANIFEST = "kg-export.json"

__all__ = ["export_gmt", "export_kgx", "ExportFolder", "MANIFEST", "clean_text"]


def __getattr__(name: str) -> Any:  # lazy, like kg/__init__.py
    if name == "export_gmt":
        from .gmt import export_gmt

        return export_gmt
    if name == "export_kgx":
        from .kgx import export_kgx

        return export_kgx
    raise AttributeError(f"module 'kg.export' has no attribute {name!r}")


def clean_text(text: str) -> str:
    """One line of text: every run of whitespace (tabs, line breaks) becomes one space."""
    return " ".join(text.split())


class ExportFolder:
    """A folder kg writes several export files into, never touching a file it did not write.

    The folder must be new, empty, or hold only what the manifest of an earlier export
    lists (and that manifest): those files are replaced or, if this export does not write
    them again, removed, so the folder holds exactly one export.  Each file is written
    atomically; the manifest is written last."""

    def __init__(self, folder: str | Path, kind: str):
        self.folder = Path(folder)
        self.kind = kind
        self.written: list[str] = []
        if is_stdout(folder):
            raise OutputError(f"{kind} export to a folder: give a folder, not - (standard output)")
        if self.folder.exists() and not self.folder.is_dir():
            raise OutputError(f"{self.folder} is a file; the {kind} export goes into a new or empty folder")
        self.previous = self._own_files()
        if self.folder.exists():
            allowed = {MANIFEST, *self.previous}
            foreign = sorted(e.name for e in os.scandir(self.folder)
                             if e.name not in allowed and not (e.name.startswith(".") and ".kg-" in e.name))
            if foreign:
                shown = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
                raise OutputError(f"refusing to write the {kind} export into {self.folder}: it holds files kg did "
                                  f"not write ({shown}); use a new or empty folder")

    def _own_files(self) -> list[str]:
        path = self.folder / MANIFEST
        try:
            manifest = json.loads(path.read_text("utf-8"))
            names = [str(entry["name"]) for entry in manifest["files"]]
        except FileNotFoundError:
            return []
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise OutputError(f"{path} is not a kg export manifest ({exc}); refusing to touch {self.folder}") from None
        if any("/" in name or name in ("", ".", "..", MANIFEST) for name in names):
            raise OutputError(f"{path} lists a file outside its folder; refusing to touch {self.folder}")
        return names

    @contextmanager
    def open(self, name: str) -> Iterator[Any]:
        """A text file ``name`` in the folder, written atomically."""
        self.folder.mkdir(parents=True, exist_ok=True)
        with atomic_path(self.folder / name) as tmp:
            with open(tmp, "w", encoding="utf-8", newline="\n", buffering=1 << 20) as fh:
                yield fh
        self.written.append(name)

    def finish(self, **details: Any) -> None:
        """Remove the earlier export's files not written again, then write the manifest."""
        self.folder.mkdir(parents=True, exist_ok=True)
        for name in self.previous:
            if name not in self.written:
                try:
                    (self.folder / name).unlink()
                except FileNotFoundError:
                    pass
        manifest = {"generator": f"kg {__version__}", "export": self.kind, **details,
                    "files": [{"name": name} for name in self.written]}
        with atomic_path(self.folder / MANIFEST) as tmp:
            tmp.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


#: Each figure's genes in one row (``?figure``, ``?genes``: space-separated IRIs), aggregated
#: by Oxigraph: building Python objects per row costs more than the query itself.
FIGURE_GENES = (f"PREFIX kg: <{vocab.KG}>\n"
                "SELECT ?figure (GROUP_CONCAT(STR(?gene); SEPARATOR=\" \") AS ?genes) WHERE {\n"
                "  ?figure kg:mentionsGene ?gene\n} GROUP BY ?figure")

