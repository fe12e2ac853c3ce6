"""The interface the live layer (signalling, media) uses to learn that a link was revoked.

Two ways, so a revoked participant is out within seconds however the deployment is laid out:

- in this process, :class:`RevocationHub` (held on the app as ``app[REVOCATIONS]``) calls every
  subscribed listener right after the revoking request has committed;
- from any process, :func:`server.hearings.invitations.revocations_since` lists revocations
  newer than a time, and :func:`server.hearings.invitations.invitation_status` gives one
  participant's state, for a live layer that polls.

A revocation (or a reissue, which revokes the older link) has already deleted the web sessions
that the participant's links opened, so re-checking a connection's session also finds it gone.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable

from aiohttp import web

from server.hearings.invitations import Revocation

logger = logging.getLogger(__name__)

RevocationListener = Callable[[Revocation], Awaitable[None]]


class RevocationHub:
    """Listeners to call when invitations are revoked, in this process.

    Listeners should return quickly (e.g. schedule the disconnection); one that raises is
    logged and does not keep the others from hearing about it.
    """

    def __init__(self) -> None:
        self._listeners: list[RevocationListener] = []

    def subscribe(self, listener: RevocationListener) -> Callable[[], None]:
        """Call ``listener`` for every revocation from now on; returns the way to stop."""
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

    async def publish(self, revocations: Iterable[Revocation]) -> None:
        """Tell every listener about committed revocations."""
        for revocation in revocations:
            for listener in list(self._listeners):
                try:
                    await listener(revocation)
                except Exception:
                    logger.exception("revocation listener failed for %s", revocation)


REVOCATIONS = web.AppKey("hearing_revocations", RevocationHub)


def install(app: web.Application) -> None:
    """Give ``app`` its revocation hub (called while the app's routes are added)."""
    app[REVOCATIONS] = RevocationHub()
