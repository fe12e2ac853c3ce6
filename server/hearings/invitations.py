"""Invitation links: issuing, reissuing, revoking, exchanging for a session, and their status.

A link carries a random token of 192 bits (``server.auth.tokens``); only its SHA-256 is stored,
bound to one participant (and so to one role and one hearing). A participant has at most one
usable link: issuing another revokes the earlier ones. Revoking (or reissuing) also deletes the
web sessions opened through the participant's links, so the person's next request, and the live
layer's next check, finds them gone; :mod:`server.hearings.live` tells the live layer at once.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth.tokens import new_token, token_hash
from server.db import HearingParticipant, Invitation, WebSession
from server.db.base import utcnow
from server.hearings.vocabulary import InvitationState, RevocationReason

MAX_TOKEN_LENGTH = 100


@dataclass(frozen=True)
class Revocation:
    """An invitation that stopped working before it expired."""

    invitation_id: int
    participant_id: int
    hearing_id: int
    at: dt.datetime
    reason: RevocationReason


@dataclass(frozen=True)
class IssuedLink:
    """A new invitation's token: known only now, never stored."""

    participant_id: int
    invitation_id: int
    token: str
    expires_at: dt.datetime
    # The earlier links this one replaced (to publish once committed).
    replaced: tuple[Revocation, ...] = ()


@dataclass(frozen=True)
class InvitationStatus:
    """Where a participant's newest invitation stands, for the live layer and the pages."""

    participant_id: int
    hearing_id: int
    state: InvitationState
    invitation_id: int | None = None
    expires_at: dt.datetime | None = None
    revoked_at: dt.datetime | None = None
    revoke_reason: RevocationReason | None = None
    first_used_at: dt.datetime | None = None
    last_used_at: dt.datetime | None = None

    @property
    def admits(self) -> bool:
        """Whether the participant's link still lets them in."""
        return self.state == InvitationState.ACTIVE


async def issue(
    db: AsyncSession,
    seat: HearingParticipant,
    *,
    expires_at: dt.datetime,
    by_staff_id: int | None,
) -> IssuedLink:
    """Give ``seat`` a new link, revoking any earlier one. The caller commits (and, after
    committing, publishes the returned revocations through :mod:`server.hearings.live`)."""
    now = utcnow()
    replaced = await _revoke_usable(db, seat, now, by_staff_id, RevocationReason.REISSUED)
    token = new_token()
    invitation = Invitation(
        participant_id=seat.id,
        token_hash=token_hash(token),
        created_at=now,
        created_by_id=by_staff_id,
        expires_at=expires_at,
    )
    db.add(invitation)
    await db.flush()
    return IssuedLink(seat.id, invitation.id, token, expires_at, tuple(replaced))


async def revoke(
    db: AsyncSession,
    seat: HearingParticipant,
    *,
    by_staff_id: int | None,
    reason: RevocationReason = RevocationReason.REVOKED,
) -> list[Revocation]:
    """Stop ``seat``'s link from working and end the sessions it opened. The caller commits."""
    return await _revoke_usable(db, seat, utcnow(), by_staff_id, reason)


async def _revoke_usable(
    db: AsyncSession,
    seat: HearingParticipant,
    now: dt.datetime,
    by_staff_id: int | None,
    reason: RevocationReason,
) -> list[Revocation]:
    rows = await db.execute(
        select(Invitation)
        .where(Invitation.participant_id == seat.id, Invitation.revoked_at.is_(None))
        .with_for_update()
    )
    revoked: list[Revocation] = []
    for invitation in rows.scalars():
        invitation.revoked_at = now
        invitation.revoked_by_id = by_staff_id
        invitation.revoke_reason = reason
        revoked.append(Revocation(invitation.id, seat.id, seat.hearing_id, now, reason))
    await db.execute(delete(WebSession).where(WebSession.participant_id == seat.id))
    await db.flush()
    return revoked


async def exchange(db: AsyncSession, token: str) -> tuple[Invitation, HearingParticipant] | None:
    """The usable invitation behind ``token`` and its participant, marked as used; ``None`` for
    unknown, expired and revoked tokens alike."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    invitation = (
        await db.execute(select(Invitation).where(Invitation.token_hash == token_hash(token)))
    ).scalar_one_or_none()
    now = utcnow()
    if invitation is None or not invitation.usable(now):
        return None
    seat = await db.get(HearingParticipant, invitation.participant_id)
    if seat is None:
        return None
    invitation.first_used_at = invitation.first_used_at or now
    invitation.last_used_at = now
    return invitation, seat


async def invitation_status(db: AsyncSession, participant_id: int) -> InvitationStatus | None:
    """The state of a participant's newest invitation; ``None`` if there is no such participant.

    The live layer calls this (or listens on :class:`server.hearings.live.RevocationHub`) to
    drop a participant whose link was revoked.
    """
    seat = await db.get(HearingParticipant, participant_id)
    if seat is None:
        return None
    return (await statuses(db, [seat])).get(seat.id)


async def statuses(
    db: AsyncSession, seats: list[HearingParticipant]
) -> dict[int, InvitationStatus]:
    """Each seat's newest invitation status, in one query."""
    if not seats:
        return {}
    rows = await db.execute(
        select(Invitation)
        .where(Invitation.participant_id.in_([s.id for s in seats]))
        .order_by(Invitation.participant_id, Invitation.id.desc())
    )
    newest: dict[int, Invitation] = {}
    for row in rows.scalars():
        newest.setdefault(row.participant_id, row)
    now = utcnow()
    out: dict[int, InvitationStatus] = {}
    for seat in seats:
        invitation = newest.get(seat.id)
        if invitation is None:
            out[seat.id] = InvitationStatus(seat.id, seat.hearing_id, InvitationState.NONE)
            continue
        if invitation.revoked_at is not None:
            state = InvitationState.REVOKED
        elif invitation.expires_at <= now:
            state = InvitationState.EXPIRED
        else:
            state = InvitationState.ACTIVE
        out[seat.id] = InvitationStatus(
            participant_id=seat.id,
            hearing_id=seat.hearing_id,
            state=state,
            invitation_id=invitation.id,
            expires_at=invitation.expires_at,
            revoked_at=invitation.revoked_at,
            revoke_reason=invitation.revoke_reason,
            first_used_at=invitation.first_used_at,
            last_used_at=invitation.last_used_at,
        )
    return out


async def revocations_since(
    db: AsyncSession, since: dt.datetime, hearing_id: int | None = None
) -> list[Revocation]:
    """Invitations revoked after ``since``, oldest first: how a live layer in another process
    (which the in-process :class:`~server.hearings.live.RevocationHub` cannot reach) learns of
    revocations by polling every second or two."""
    query = (
        select(Invitation, HearingParticipant.hearing_id)
        .join(HearingParticipant, HearingParticipant.id == Invitation.participant_id)
        .where(Invitation.revoked_at > since)
        .order_by(Invitation.revoked_at, Invitation.id)
    )
    if hearing_id is not None:
        query = query.where(HearingParticipant.hearing_id == hearing_id)
    out: list[Revocation] = []
    for invitation, seat_hearing_id in (await db.execute(query)).all():
        assert invitation.revoked_at is not None and invitation.revoke_reason is not None
        out.append(
            Revocation(
                invitation.id,
                invitation.participant_id,
                seat_hearing_id,
                invitation.revoked_at,
                invitation.revoke_reason,
            )
        )
    return out
