"""The one registry of RDF formats kg reads and writes.

Each :class:`Format` wraps a :class:`pyoxigraph.RdfFormat` with what kg needs to know about
it: its name and aliases on the command line, its file extension, whether it holds named
graphs, and whether kg can write it as gzipped shards.  The CLI, the Python API, the sinks,
VoID, ``kg validate`` and ``kg load`` all look formats up here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox


@dataclass(frozen=True)
class Format:
    """An RDF format: ``name`` (as ``--format`` takes it), ``rdf`` (pyoxigraph's format),
    ``extension`` (with the dot), other accepted names, and whether it can be sharded."""

    name: str
    rdf: ox.RdfFormat
    extension: str
    aliases: tuple[str, ...] = ()
    shardable: bool = False

    @property
    def media_type(self) -> str:
        return self.rdf.media_type

    @property
    def datasets(self) -> bool:
        """True when the format holds named graphs (quads)."""
        return self.rdf.supports_datasets


REGISTRY: dict[str, Format] = {f.name: f for f in (
    Format("turtle", ox.RdfFormat.TURTLE, ".ttl", ("ttl",)),
    Format("nt", ox.RdfFormat.N_TRIPLES, ".nt", ("ntriples", "n-triples"), shardable=True),
    Format("nq", ox.RdfFormat.N_QUADS, ".nq", ("nquads", "n-quads"), shardable=True),
    Format("jsonld", ox.RdfFormat.JSON_LD, ".jsonld", ("json-ld",)),
)}
_BY_NAME = {alias: f for f in REGISTRY.values() for alias in (f.name, *f.aliases)}


def get(name: str | Format) -> Format:
    """The format called ``name`` (any alias, any case); ValueError if unknown."""
    if isinstance(name, Format):
        return name
    try:
        return _BY_NAME[name.lower()]
    except KeyError:
        raise ValueError(f"unknown format {name!r} (choose from {', '.join(REGISTRY)})") from None


def for_path(path: str | Path, default: str = "turtle") -> Format:
    """The format a file name says (``.ttl``, ``.nt``, ``.nq``, ``.jsonld``, optionally
    ``.gz``); ``default`` when the name says none."""
    name = str(path).lower().removesuffix(".gz")
    return next((f for f in REGISTRY.values() if name.endswith(f.extension)), REGISTRY[default])


def format_name(name: str) -> str:
    """Canonical name of the format called ``name`` (``ttl`` -> ``turtle``)."""
    return get(name).name


def format_for_path(path: str | Path) -> str:
    """Canonical name of the format a file name says (Turtle when it says none)."""
    return for_path(path).name


def negotiate(accept: str | None, offers: list[str], aliases: dict[str, str] | None = None) -> str | None:
    """The media type of ``offers`` an HTTP ``Accept`` header prefers: highest q first, then
    the more specific range (``text/turtle`` over ``text/*`` over ``*/*``), then the range
    listed first, then the offer listed first; ``offers[0]`` without a header; ``None`` when
    it accepts none of them.  ``aliases`` maps other names of an offered type to it."""
    if not accept or not accept.strip():
        return offers[0]
    best: tuple[float, int, int, int] | None = None
    chosen = None
    for position, part in enumerate(accept.split(",")):
        media, *params = [p.strip() for p in part.split(";")]
        media = media.lower()
        q = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = max(0.0, min(1.0, float(value)))
                except ValueError:
                    q = 0.0
        if q <= 0 or not media:
            continue
        media = (aliases or {}).get(media, media)
        if media == "*/*":
            candidates, specificity = offers, 0
        elif media.endswith("/*"):
            candidates, specificity = [o for o in offers if o.startswith(media[:-1])], 1
        elif media in offers:
            candidates, specificity = [media], 2
        else:
            continue
        for offer in candidates:
            key = (q, specificity, -position, -offers.index(offer))
            if best is None or key > best:
                best, chosen = key, offer
    return chosen
