"""ICE servers for browsers, with short-lived TURN credentials.

coturn's ``use-auth-secret`` scheme (the REST API draft, as RFC 7635 uses it): the username
is ``<unix expiry>:<user>`` and the password is ``base64(HMAC-SHA1(secret, username))``.
coturn recomputes the password from its ``static-auth-secret`` and refuses an expired
username, so nothing is stored and a leaked credential stops working by itself.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import NotRequired, TypedDict

from server.settings import Settings


class IceServerOut(TypedDict):
    """One entry of ``RTCConfiguration.iceServers`` as the page passes it on."""

    urls: list[str]
    username: NotRequired[str]
    credential: NotRequired[str]


def turn_credentials(secret: str, user: str, ttl_s: int, now: float) -> tuple[str, str]:
    """``(username, password)`` valid until ``now + ttl_s`` for a coturn sharing ``secret``."""
    if not secret:
        raise ValueError("a TURN shared secret is needed")
    if ":" in user:
        raise ValueError("the user part may not contain ':'")
    username = f"{int(now) + ttl_s}:{user}"
    digest = hmac.new(secret.encode("utf-8"), username.encode("utf-8"), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode("ascii")


def ice_servers_for(
    settings: Settings, participant_id: int, now: float | None = None
) -> list[IceServerOut]:
    """The ICE server list for one participant's browser.

    TURN entries configured without a username get credentials bound to the participant and
    expiring after ``settings.turn_ttl_s``; configured credentials are passed as they are.
    """
    now = time.time() if now is None else now
    out: list[IceServerOut] = []
    for server in settings.ice_servers:
        entry: IceServerOut = {"urls": list(server.urls)}
        is_turn = any(url.startswith(("turn:", "turns:")) for url in server.urls)
        if server.username is not None and server.credential is not None:
            entry["username"] = server.username
            entry["credential"] = server.credential
        elif is_turn and settings.turn_secret:
            username, credential = turn_credentials(
                settings.turn_secret, str(participant_id), settings.turn_ttl_s, now
            )
            entry["username"] = username
            entry["credential"] = credential
        out.append(entry)
    return out
