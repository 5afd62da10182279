"""HTTP requests bounded as a whole: connect, send, headers and body within ``timeout`` seconds.

A socket timeout bounds each read, so a server that sends one byte a second never trips
it.  Here every request has a deadline: connecting gets the time left, and a timer shuts
the connection's socket down when the deadline passes, which ends any read in progress;
the request then fails with :class:`RequestTimeout`.  Used by ``kg query --endpoint`` and
``kg push`` (``--timeout``).
"""

from __future__ import annotations

import socket
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.message import Message
from typing import Any, Callable, Mapping

from . import __version__

USER_AGENT = f"kg/{__version__}"


class RequestTimeout(TimeoutError):
    """The whole request took longer than its timeout."""


@dataclass
class Response:
    """An HTTP answer, whatever its status (transport failures raise instead)."""

    status: int
    headers: Message
    body: bytes

    @property
    def media_type(self) -> str:
        return (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()

    def first_line(self, limit: int = 300) -> str:
        """The first non-blank line of the body (an error message), at most ``limit`` characters."""
        text = self.body.decode("utf-8", "replace")
        return next((line.strip() for line in text.splitlines() if line.strip()), "")[:limit]


class Deadline:
    """A point in time after which the sockets it watches are shut down."""

    def __init__(self, seconds: float):
        if not seconds > 0:
            raise ValueError(f"timeout must be a positive number of seconds, got {seconds}")
        self.seconds = seconds
        self.end = time.monotonic() + seconds
        self.expired = False
        self._finished = False
        self._lock = threading.Lock()
        self._timers: list[threading.Timer] = []

    def remaining(self) -> float:
        """Seconds left; :class:`RequestTimeout` once there are none."""
        left = self.end - time.monotonic()
        if left <= 0:
            self.expired = True
            raise RequestTimeout(f"timed out after {self.seconds:g} s")
        return left

    def watch(self, sock: socket.socket) -> None:
        """Shut ``sock`` down when the deadline passes (unless :meth:`finish` came first)."""
        timer = threading.Timer(max(self.end - time.monotonic(), 0.0), self._expire, (sock,))
        timer.daemon = True
        with self._lock:
            if self._finished:
                return
            self._timers.append(timer)
        timer.start()

    def _expire(self, sock: socket.socket) -> None:
        with self._lock:
            if self._finished:
                return
            self.expired = True
            try:  # the plain socket call: also right for a TLS socket, and harmless once closed
                socket.socket.shutdown(sock, socket.SHUT_RDWR)
            except OSError:
                pass

    def finish(self) -> bool:
        """Stop watching; True if the deadline passed first (the answer may be cut short)."""
        with self._lock:
            self._finished = True
            for timer in self._timers:
                timer.cancel()
        return self.expired


def _watched(connection_class: Callable[..., Any], deadline: Deadline) -> Callable[..., Any]:
    """A factory of ``connection_class`` connections that connect within the time left and
    whose socket (TLS socket for https) the deadline shuts down."""

    def make(host: str, **kwargs: Any) -> Any:
        conn = connection_class(host, **kwargs)
        create = conn._create_connection
        connect = conn.connect
        plain: list[socket.socket] = []

        def create_connection(address, timeout=None, source_address=None):  # type: ignore[no-untyped-def]
            sock = create(address, deadline.remaining(), source_address)
            deadline.watch(sock)
            plain.append(sock)
            return sock

        def connect_and_watch() -> None:
            connect()
            if conn.sock is not None and conn.sock not in plain:
                deadline.watch(conn.sock)  # the TLS socket that took over the plain one (https)

        conn._create_connection = create_connection
        conn.connect = connect_and_watch
        return conn

    return make


class _Watching:
    """Mixin for urllib's handlers: their connections are watched by a :class:`Deadline`."""

    def __init__(self, deadline: Deadline):
        super().__init__()
        self.deadline = deadline

    def do_open(self, http_class, req, **kwargs):  # type: ignore[no-untyped-def]
        return super().do_open(_watched(http_class, self.deadline), req, **kwargs)  # type: ignore[misc]


class _HTTPHandler(_Watching, urllib.request.HTTPHandler):
    pass


class _HTTPSHandler(_Watching, urllib.request.HTTPSHandler):
    pass


def request(url: str, *, method: str = "GET", data: bytes | None = None,
            headers: Mapping[str, str] | None = None, timeout: float = 60.0) -> Response:
    """Send one request and read the whole answer within ``timeout`` seconds (redirects
    included).  Any HTTP status is returned as a :class:`Response`; :class:`RequestTimeout`
    when the deadline passes, :class:`urllib.error.URLError` / :class:`OSError` /
    :class:`http.client.HTTPException` when the server cannot be reached or breaks off."""
    req = urllib.request.Request(url, data=data, method=method, headers={"User-Agent": USER_AGENT, **(headers or {})})
    return send(req, timeout)


def send(req: urllib.request.Request, timeout: float = 60.0) -> Response:
    """:func:`request` for a prepared :class:`urllib.request.Request` (e.g. SPARQLWrapper's)."""
    deadline = Deadline(timeout)
    opener = urllib.request.build_opener(_HTTPHandler(deadline), _HTTPSHandler(deadline))
    try:
        try:
            answer = opener.open(req, timeout=deadline.remaining())
        except urllib.error.HTTPError as exc:  # an answer too: read its body under the same deadline
            answer = exc
        try:
            body = answer.read() if getattr(answer, "fp", None) is not None else b""
        finally:
            answer.close()
        response = Response(answer.code, answer.headers, body)
    except Exception as exc:
        if deadline.finish() or _is_timeout(exc):
            raise RequestTimeout(f"no complete answer within {timeout:g} s") from None
        raise
    if deadline.finish():
        raise RequestTimeout(f"no complete answer within {timeout:g} s")
    return response


def _is_timeout(exc: BaseException) -> bool:
    reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    return isinstance(reason, (socket.timeout, TimeoutError))
