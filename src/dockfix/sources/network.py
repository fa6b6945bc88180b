"""The HTTP layer of the network client: urllib, http.client and TLS.

These modules take longer to import than a small Dockerfile takes to check, and a run that finds
its digests in the cache (every offline run) never makes a request; so this module is imported
only through `registry.http_transport`, when a request is to be made.
"""

from __future__ import annotations

import email.utils
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, timezone
from email.message import Message
from http.client import HTTPException
from ssl import SSLContext
from typing import Any

from .registry import USER_AGENT, NetworkProblem

UrlOpener = Callable[..., Any]
"""What opens a URL as `urllib.request.urlopen` does, called as `opener(url, timeout=...)`."""


@dataclass(frozen=True, slots=True)
class Response:
    """An HTTP answer: status, headers (lower-case names) and body (empty for HEAD)."""

    status: int
    headers: Mapping[str, str]
    body: bytes


class Transport:
    """Makes HTTP requests with a timeout, over TLS verified by `ssl_context` (the system's by default)."""

    def __init__(self, *, timeout: float, ssl_context: SSLContext | None = None) -> None:
        self.timeout = timeout
        self._opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=ssl_context))

    def exchange(
        self, method: str, url: str, headers: Mapping[str, str], authorization: str | None, data: bytes | None
    ) -> Response:
        """One request and its answer; a status of 500 and up, or no answer, raises NetworkProblem."""
        request = urllib.request.Request(url, data=data, method=method)
        request.add_header("User-Agent", USER_AGENT)
        for name, value in headers.items():
            request.add_header(name, value)
        if authorization:
            # Unredirected: a redirect (to blob storage, say) must not carry our credentials.
            request.add_unredirected_header("Authorization", authorization)
        try:
            with self._opener.open(request, timeout=self.timeout) as reply:
                body = reply.read() if method != "HEAD" else b""
                return Response(reply.status, _lower_headers(reply.headers), body)
        except urllib.error.HTTPError as error:
            try:
                body = _read_quietly(error) if method != "HEAD" else b""
            finally:
                error.close()
            if error.code < 500:
                return Response(error.code, _lower_headers(error.headers), body)
            raise NetworkProblem(f"answered HTTP {error.code}") from error
        except urllib.error.URLError as error:
            raise NetworkProblem(_describe_network_problem(error.reason)) from error
        except (OSError, HTTPException) as error:
            raise NetworkProblem(_describe_network_problem(error)) from error

    def download(self, url: str, *, limit: int, opener: UrlOpener | None = None) -> tuple[bytes, date | None]:
        """The body at `url` (at most `limit` + 1 bytes read) and the server's date for it, if it sent one.

        `opener` stands in for this transport's own (tests serve files with it). Raises NetworkProblem
        when there is no answer or the answer is an HTTP error.
        """
        try:
            with (opener or self._opener.open)(url, timeout=self.timeout) as response:
                body = response.read(limit + 1)
                headers = getattr(response, "headers", None)
                served = headers.get("Date") if headers is not None else None
        except urllib.error.HTTPError as error:
            raise NetworkProblem(f"HTTP {error.code} {error.reason}") from error
        except (OSError, HTTPException, ValueError) as error:
            raise NetworkProblem(str(getattr(error, "reason", error))) from error
        served_date = None
        if served:
            try:
                served_date = email.utils.parsedate_to_datetime(served).astimezone(timezone.utc).date()
            except (TypeError, ValueError):
                served_date = None
        return body, served_date


def _lower_headers(headers: Message | None) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()} if headers else {}


def _read_quietly(response: urllib.error.HTTPError) -> bytes:
    try:
        return response.read()
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
