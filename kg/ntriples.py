"""N-Triples term syntax for the mapping's hot path.

The mapping emits canonical N-Triples lines directly: building a pyoxigraph or rdflib
term object per triple costs ~7 µs, formatting a line costs well under 1 µs.  Every line
is re-parsed by pyoxigraph when written as Turtle/JSON-LD or loaded into a store, and the
tests parse all output with rdflib, pyoxigraph and rapper.  IRIs reaching :func:`iri` are
built by :mod:`kg.vocab`, which validates and percent-encodes them.
"""

from __future__ import annotations

import re

from .vocab import XSD

#: Canonical N-Triples string escapes (as pyoxigraph writes them, so that lines from the
#: mapping and from the JSON-LD parser agree byte for byte): quote, backslash, backspace,
#: tab, newline, form feed and carriage return as ECHARs, other control characters as UCHARs.
_ESCAPES = str.maketrans({
    **{chr(c): f"\\u{c:04X}" for c in (*range(0x20), 0x7F)},
    "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r", '"': '\\"', "\\": "\\\\",
})

_NEEDS_ESCAPE = re.compile(r'[\x00-\x1f\x7f"\\]')  # most text has none: skip translate()


def iri(value: str) -> str:
    return f"<{value}>"


def literal(text: str, datatype: str | None = None, lang: str | None = None) -> str:
    """A literal: plain string, language-tagged, or typed (``datatype`` a full IRI)."""
    quoted = '"' + (text.translate(_ESCAPES) if _NEEDS_ESCAPE.search(text) else text) + '"'
    if lang:
        return f"{quoted}@{lang}"
    if datatype and datatype != XSD + "string":
        return f"{quoted}^^<{datatype}>"
    return quoted


def triple(subject: str, predicate: str, obj: str) -> str:
    """One N-Triples line (terms already in N-Triples syntax), newline-terminated."""
    return f"{subject} {predicate} {obj} .\n"
