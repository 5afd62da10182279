"""Errors the ``kg`` command reports as one line (exit status 2)."""


def first_line(text: str) -> str:
    """The first non-blank line of a message (at most 300 characters): what a one-line
    error shows of a longer one (a parser's, a server's)."""
    return next((line.strip() for line in text.splitlines() if line.strip()), "")[:300]


class KgError(Exception):
    """Base of the errors a command reports without a traceback."""


class StoreError(KgError):
    """The store is missing, locked, or a load into it failed (the store is left as it was)."""


class QueryError(KgError):
    """Unknown query name, SPARQL syntax error, bad parameter value."""


class RemoteError(KgError):
    """HTTP failure, unreachable endpoint, malformed results from a remote SPARQL service."""


class QueryTimeout(KgError):
    """A query ran out of time."""
