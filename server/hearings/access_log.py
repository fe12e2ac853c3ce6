"""An access log that never writes a link token: ``/join/<token>`` (invitations) and
``/p/<token>`` (a party's personal link) are logged with the token replaced."""

from __future__ import annotations

import re

from aiohttp.web import StreamResponse
from aiohttp.web_log import AccessLogger
from aiohttp.web_request import BaseRequest
from yarl import URL

TOKEN_PATHS = re.compile(r"^/(join|p)/[^/]+")


def redact(path: str) -> str:
    """``path`` with any link token replaced by ``***``."""
    return TOKEN_PATHS.sub(r"/\1/***", path)


class RedactingAccessLogger(AccessLogger):
    """aiohttp's access log, minus the tokens (they are as good as a password until they
    expire, and logs are read by more people than the links are meant for)."""

    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        """Log the request with its token, if any, redacted."""
        path = request.rel_url.path
        if TOKEN_PATHS.match(path):
            request = request.clone(rel_url=URL.build(path=redact(path)))
        super().log(request, response, time)
