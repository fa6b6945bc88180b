"""The HTTP layer of the network client: urllib, http.client and TLS.

These modules take longer to import than a small Dockerfile takes to check, and a run that finds
its digests in the cache (every offline run) never makes a request; so this module is imported
only through `registry.http_transport`, when a request is to be made.
"""

from __future__ import annotations

import contextlib
import email.utils
import http.client
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, timezone
from email.message import Message
from http.client import HTTPException, HTTPResponse
from ssl import SSLContext
from typing import IO, Any

from .registry import USER_AGENT, AnswerRefused, NetworkProblem

UrlOpener = Callable[..., Any]
"""What opens a URL as `urllib.request.urlopen` does, called as `opener(url, timeout=...)`."""

_exchange_in_progress = threading.local()
"""The `_Deadline` of the exchange this thread is making, which the connections it opens obey."""


@dataclass(slots=True)
class _Deadline:
    """The end of one exchange: at that moment every connection opened for it is shut down.

    The per-read timeout alone cannot end a server that sends one byte just before each read
    would time out; shutting the socket down wakes the read blocked on it, wherever it is (the
    TLS handshake, the headers, the body, a redirect).
    """

    ends_at: float
    passed: bool = False
    _timers: list[threading.Timer] = field(default_factory=list)

    def watch(self, connection: http.client.HTTPConnection) -> None:
        timer = threading.Timer(max(0.0, self.ends_at - time.monotonic()), self._expire, args=(connection,))
        timer.daemon = True
        self._timers.append(timer)
        timer.start()

    def _expire(self, connection: http.client.HTTPConnection) -> None:
        self.passed = True
        # Before the connection is made, its socket; after, the one the answer is read from (urllib
        # hands it to the response and forgets it on the connection).
        sock = connection.sock or getattr(connection, "connected_socket", None)
        if sock is not None:
            with contextlib.suppress(OSError):
                # The plain socket's shutdown: a TLS socket's would try to say goodbye first.
                socket.socket.shutdown(sock, socket.SHUT_RDWR)

    def cancel(self) -> None:
        for timer in self._timers:
            timer.cancel()


def _watch_connection(connection: http.client.HTTPConnection) -> None:
    deadline: _Deadline | None = getattr(_exchange_in_progress, "deadline", None)
    if deadline is not None:
        deadline.watch(connection)


class _WatchedHTTPConnection(http.client.HTTPConnection):
    connected_socket: socket.socket | None = None

    def connect(self) -> None:
        _watch_connection(self)
        super().connect()
        self.connected_socket = self.sock


class _WatchedHTTPSConnection(http.client.HTTPSConnection):
    connected_socket: socket.socket | None = None

    def connect(self) -> None:
        _watch_connection(self)
        super().connect()
        self.connected_socket = self.sock


class _WatchedHTTPHandler(urllib.request.HTTPHandler):
    def http_open(self, req: urllib.request.Request) -> HTTPResponse:
        return self.do_open(_WatchedHTTPConnection, req)


class _WatchedHTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, context: SSLContext | None) -> None:
        super().__init__(context=context)
        self._tls_context = context

    def https_open(self, req: urllib.request.Request) -> HTTPResponse:
        return self.do_open(_WatchedHTTPSConnection, req, context=self._tls_context)


class _HeldRedirectHandler(urllib.request.HTTPRedirectHandler):
    """Follows a redirect only where a mirror URL may point: https, or plain http to a host allowed it."""

    def __init__(self, plain_http_allowed: Callable[[str], bool]) -> None:
        self._plain_http_allowed = plain_http_allowed

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: http.client.HTTPMessage,
        newurl: str,
    ) -> urllib.request.Request | None:
        parts = urllib.parse.urlsplit(newurl)
        host = parts.netloc.rpartition("@")[2]
        if parts.scheme != "https" and not (parts.scheme == "http" and self._plain_http_allowed(host)):
            raise AnswerRefused(f"redirected to {parts.scheme}://{host}, which is neither https nor loopback http")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


@dataclass(frozen=True, slots=True)
class Response:
    """An HTTP answer: status, headers (lower-case names) and body (empty for HEAD)."""

    status: int
    headers: Mapping[str, str]
    body: bytes


class Transport:
    """Makes HTTP requests over TLS verified by `ssl_context` (the system's by default).

    Each read waits at most `timeout` seconds, each exchange (redirects included) ends after
    `deadline` seconds, an answer's body is at most `size_limit` bytes (never more than one byte
    over it is read), and redirects go only to https or to plain http on a host
    `plain_http_allowed` accepts.
    """

    def __init__(
        self,
        *,
        timeout: float,
        deadline: float,
        size_limit: int,
        plain_http_allowed: Callable[[str], bool],
        ssl_context: SSLContext | None = None,
    ) -> None:
        self.timeout = timeout
        self.deadline = deadline
        self.size_limit = size_limit
        self._opener = urllib.request.build_opener(
            _WatchedHTTPHandler(), _WatchedHTTPSHandler(ssl_context), _HeldRedirectHandler(plain_http_allowed)
        )

    def exchange(
        self, method: str, url: str, headers: Mapping[str, str], authorization: str | None, data: bytes | None
    ) -> Response:
        """One request and its answer; a status of 500 and up, or no answer, raises NetworkProblem.

        An answer past the deadline, over the size limit or redirected where it may not go
        raises AnswerRefused.
        """
        with self._deadline() as deadline:
            try:
                response = self._exchange(method, url, headers, authorization, data)
            except NetworkProblem as problem:
                self._raise_if_late(deadline, problem)
                raise
        self._raise_if_late(deadline)  # the socket shut at the deadline may read as the end of the body
        return response

    @contextlib.contextmanager
    def _deadline(self) -> Iterator[_Deadline]:
        """The deadline of one exchange, which every connection this thread opens meanwhile obeys."""
        deadline = _Deadline(time.monotonic() + self.deadline)
        _exchange_in_progress.deadline = deadline
        try:
            yield deadline
        finally:
            deadline.cancel()
            _exchange_in_progress.deadline = None

    def _raise_if_late(self, deadline: _Deadline, problem: BaseException | None = None) -> None:
        if deadline.passed:
            raise AnswerRefused(f"gave no complete answer within {self.deadline:g} s") from problem

    def _exchange(
        self, method: str, url: str, headers: Mapping[str, str], authorization: str | None, data: bytes | None
    ) -> Response:
        request = urllib.request.Request(url, data=data, method=method)
        request.add_header("User-Agent", USER_AGENT)
        for name, value in headers.items():
            request.add_header(name, value)
        if authorization:
            # Unredirected: a redirect (to blob storage, say) must not carry our credentials.
            request.add_unredirected_header("Authorization", authorization)
        try:
            with self._opener.open(request, timeout=self.timeout) as reply:
                body = self._read_bounded(reply) if method != "HEAD" else b""
                return Response(reply.status, _lower_headers(reply.headers), body)
        except urllib.error.HTTPError as error:
            try:
                body = _read_quietly(error, self.size_limit) if method != "HEAD" else b""
            finally:
                error.close()
            if error.code < 500:
                return Response(error.code, _lower_headers(error.headers), body)
            raise NetworkProblem(f"answered HTTP {error.code}") from error
        except urllib.error.URLError as error:
            raise NetworkProblem(_describe_network_problem(error.reason)) from error
        except (OSError, HTTPException) as error:
            raise NetworkProblem(_describe_network_problem(error)) from error

    def _read_bounded(self, reply: HTTPResponse) -> bytes:
        declared = (reply.headers.get("Content-Length") or "").strip()
        if declared.isdigit() and int(declared) > self.size_limit:
            raise AnswerRefused(f"announced {int(declared)} bytes, over the limit of {self.size_limit}")
        body = reply.read(self.size_limit + 1)
        if len(body) > self.size_limit:
            raise AnswerRefused(f"sent more than the limit of {self.size_limit} bytes")
        return body

    def download(self, url: str, *, limit: int, opener: UrlOpener | None = None) -> tuple[bytes, date | None]:
        """The body at `url` (at most `limit` + 1 bytes read) and the server's date for it, if it sent one.

        Each read waits at most `timeout` seconds and the whole download ends after `deadline`
        seconds, as an exchange does. `opener` stands in for this transport's own (tests serve files
        with it; its connections are not held to the deadline). Raises NetworkProblem when there is
        no answer or the answer is an HTTP error, AnswerRefused when the deadline passed.
        """
        with self._deadline() as deadline:
            try:
                with (opener or self._opener.open)(url, timeout=self.timeout) as response:
                    body = response.read(limit + 1)
                    headers = getattr(response, "headers", None)
                    served = headers.get("Date") if headers is not None else None
            except urllib.error.HTTPError as error:
                raise NetworkProblem(f"HTTP {error.code} {error.reason}") from error
            except (OSError, HTTPException, ValueError) as error:
                self._raise_if_late(deadline, error)
                raise NetworkProblem(str(getattr(error, "reason", error))) from error
        self._raise_if_late(deadline)
        served_date = None
        if served:
            try:
                served_date = email.utils.parsedate_to_datetime(served).astimezone(timezone.utc).date()
            except (TypeError, ValueError):
                served_date = None
        return body, served_date


def _lower_headers(headers: Message | None) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()} if headers else {}


def _read_quietly(response: urllib.error.HTTPError, limit: int) -> bytes:
    try:
        return response.read(limit)
    except (OSError, HTTPException):
        return b""


def _describe_network_problem(reason: object) -> str:
    if isinstance(reason, TimeoutError) or "timed out" in str(reason):
        return "timed out"
    if isinstance(reason, ConnectionRefusedError):
        return "refused the connection"
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror.lower()
    if isinstance(reason, HTTPException):
        return f"broke the connection ({type(reason).__name__})"
    text = str(reason).strip() or type(reason).__name__
    return text.splitlines()[0]
