"""Consent to recording: the versioned notice, and each participant's answer.

Notice texts are files, ``web/i18n/notices/recording-<version>.json`` (one text per language),
never edited once published: a new wording is a new version. Each answer stores the version and
the SHA-256 of the exact text shown, apart from identity data.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from server.auth.principal import ParticipantPrincipal
from server.db import Case, RecordingConsent
from server.db.base import utcnow
from server.errors import Conflict
from server.hearings.seats import own_seat
from server.i18n import DEFAULT_LOCALE
from server.schemas.hearings import ConsentRequest
from server.workflow.timeline import record

RECORDING_NOTICE_VERSION = "2026.1"


@dataclass(frozen=True)
class Notice:
    """One version of the recording notice in one language."""

    version: str
    locale: str
    text: str
    sha256: str


def recording_notice(web_dir: Path, locale: str, version: str = RECORDING_NOTICE_VERSION) -> Notice:
    """The recording notice of ``version`` in ``locale`` (zh-CN when there is no such text)."""
    path = web_dir / "i18n" / "notices" / f"recording-{version}.json"
    texts: dict[str, str] = json.loads(path.read_text(encoding="utf-8"))
    if locale not in texts:
        locale = DEFAULT_LOCALE
    text = texts[locale]
    return Notice(version, locale, text, hashlib.sha256(text.encode("utf-8")).hexdigest())


async def answer(
    db: AsyncSession, who: ParticipantPrincipal, notice: Notice, req: ConsentRequest
) -> RecordingConsent:
    """Record a participant's answer to ``notice``; declining marks them not to be recorded.
    The caller commits."""
    if req.notice_version != notice.version:
        # They answered a text that is no longer the current one: show them the new text.
        raise Conflict("error.hearing_notice_outdated")
    seat, hearing = await own_seat(db, who)
    consent = RecordingConsent(
        participant_id=seat.id,
        notice_version=notice.version,
        notice_sha256=notice.sha256,
        locale=notice.locale,
        given=req.given,
        at=utcnow(),
    )
    db.add(consent)
    seat.do_not_record = not req.given
    case = await db.get(Case, hearing.case_id)
    assert case is not None
    await record(
        db,
        case,
        "recording_consent",
        actor_label=seat.name,
        hearing_id=hearing.id,
        role=str(seat.role),
        given=req.given,
        notice_version=notice.version,
    )
    await db.flush()
    return consent
