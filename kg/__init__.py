"""kg: build a knowledge graph of PFOCR pathway figures (figures, papers, genes, chemicals,
diseases, organisms) as RDF; store it, query it, and share it.

The main entry points, one per CLI command (each module documents the rest)::

    kg.build(sources, output, store=..., format=..., jobs=...)   # kg build   (kg.pipeline)
    kg.load(dumps, store, graph=...)                             # kg load    (kg.store)
    kg.run_query(text, store=... | endpoint=..., params=...)     # kg query   (kg.query)
    kg.push(source, endpoint, graph=...)                         # kg push    (kg.remote)
    kg.project(source, kind="cooccurrence")                      # kg network (kg.network)
    kg.validate.validate(path)                                   # kg validate
    kg.export_gmt(store, output, organism=..., kind=..., query=...)  # kg export gmt (kg.export.gmt)
    kg.export_kgx(store, output_folder)                          # kg export kgx (kg.export.kgx)
    kg.open_graph(store)         # an rdflib.Graph over the store, read-only (kg.rdflib_store)
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {"build": "pipeline", "load": "store", "run_query": "query", "push": "remote", "project": "network",
            "export_gmt": "export.gmt", "export_kgx": "export.kgx", "open_graph": "rdflib_store"}


def __getattr__(name: str) -> Any:  # lazy, so ``import kg`` stays cheap
    if name in _EXPORTS:
        return getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module 'kg' has no attribute {name!r}")


__all__ = ["__version__", *_EXPORTS]
