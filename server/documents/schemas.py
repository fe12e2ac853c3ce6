"""Requests and responses of the documents and mediation record API."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from server.documents.vocabulary import DocumentKind, DocumentStatus, RecordStatus
from server.validation import Body, DbId

MAX_STATEMENTS = 2000
MAX_TERMS = 50

Term = Annotated[str, Field(min_length=1, max_length=2000)]


class StatementIn(Body):
    """One statement as the editor sends it. ``id`` names a saved statement (its stamps are
    kept); without one it is new and the server stamps it. ``client_key`` is echoed back so
    the editor can match its unsaved lines to the saved ones."""

    id: DbId | None = None
    client_key: str = Field(default="", max_length=40, pattern=r"^[A-Za-z0-9_-]*$")
    speaker_participant_id: DbId
    text: str = Field(default="", max_length=5000)


class StatementsPut(Body):
    """Autosave: the whole list, on top of the version the editor last saw."""

    base_version: int = Field(ge=0)
    statements: list[StatementIn] = Field(max_length=MAX_STATEMENTS)


class StatementOut(BaseModel):
    """A saved statement."""

    id: int
    client_key: str = ""
    position: int
    speaker_participant_id: int | None
    speaker_name: str
    speaker_role: str
    text: str
    offset_ms: int | None
    said_at: dt.datetime


class SpeakerOut(BaseModel):
    """A seat of the hearing that may be named as a statement's speaker."""

    participant_id: int
    name: str
    role: str


class RecordOut(BaseModel):
    """A hearing's mediation record as the editor (and a clerk) sees it."""

    id: int
    case_id: int
    hearing_id: int
    status: RecordStatus
    version: int
    saved_at: dt.datetime
    statements: list[StatementOut]
    speakers: list[SpeakerOut]
    recording_started_at: dt.datetime | None
    may_edit: bool
    may_sign_off: bool
    signed_off_by_name: str
    signed_off_at: dt.datetime | None
    document_id: int | None
    confirmed_party_ids: list[int]


class ConflictOut(BaseModel):
    """409 to an autosave: someone saved in between; ``record`` is what they saved."""

    error: dict[str, str]
    record: RecordOut


class PartyRecordOut(BaseModel):
    """What a party is shown of a signed-off record before confirming it."""

    id: int
    hearing_id: int
    status: RecordStatus
    document_id: int | None
    document_sha256: str
    content: str  # the document's HTML, ID numbers masked
    signed_off_by_name: str
    signed_off_at: dt.datetime | None
    confirmed: bool


class DocumentOut(BaseModel):
    """One version of a document (without its content)."""

    id: int
    case_id: int
    kind: DocumentKind
    version: int
    status: DocumentStatus
    template: str
    sha256: str
    hearing_id: int | None
    created_at: dt.datetime
    html_url: str
    pdf_url: str


class AgreementForm(Body):
    """A mediation agreement's draft: what the law requires besides the parties (taken from
    the case): the facts and disputed matters, the agreed terms, how and by when performed."""

    facts: str = Field(min_length=1, max_length=10_000)
    disputed_matters: str = Field(default="", max_length=5000)
    terms: list[Term] = Field(min_length=1, max_length=MAX_TERMS)
    performance: str = Field(min_length=1, max_length=5000)
    performance_deadline: dt.date | None = None
    # A party's sex as the agreement states it, by party id (the case keeps no such field).
    sexes: dict[str, Literal["男", "女", ""]] = Field(default_factory=dict, max_length=50)


class DocumentDetail(DocumentOut):
    """A document version with its content as shown on screen (ID numbers masked)."""

    content: str
