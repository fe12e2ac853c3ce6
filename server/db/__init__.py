"""Database: SQLAlchemy 2.0 models (one module per concept) and the async engine."""

from server.db.aftercare import FollowUp, Rating
from server.db.audit import AuditEntry, AuditHead
from server.db.auth import LoginAttempt, WebSession
from server.db.base import Base
from server.db.case import Case, CaseNumberCounter, Party
from server.db.confirmation import ApplicationConsent, ConfirmationApplication
from server.db.consultation import Consultation, Summons
from server.db.deadline import DeadlineRule
from server.db.document import Document
from server.db.export import RecordingExport
from server.db.hearing import (
    Hearing,
    HearingParticipant,
    IdentityCheck,
    IdentityDeclaration,
    Invitation,
    RecordingConsent,
)
from server.db.job import Job
from server.db.live import HearingChatMessage
from server.db.mediation_record import (
    MediationRecord,
    RecordConfirmation,
    RecordStatement,
    RecordVersion,
)
from server.db.organisation import Organisation
from server.db.recording import (
    CaucusRelease,
    RecordingBookmark,
    RecordingEvent,
    RecordingSegment,
    RecordingSession,
    RecordingTrack,
)
from server.db.routing import Routing, Supervision
from server.db.search import CaseSearchTerm
from server.db.signature import DocumentSeal, DocumentSignature
from server.db.signing import RecordingManifest, SigningKey
from server.db.staff import Staff
from server.db.stats_rollup import CaseMonthStats
from server.db.throttle import ThrottleHit
from server.db.timeline import CaseEvent
from server.db.transcript import Transcript, TranscriptLine

__all__ = [
    "ApplicationConsent",
    "AuditEntry",
    "AuditHead",
    "Base",
    "Case",
    "CaseEvent",
    "CaseMonthStats",
    "CaseNumberCounter",
    "CaseSearchTerm",
    "CaucusRelease",
    "ConfirmationApplication",
    "Consultation",
    "DeadlineRule",
    "Document",
    "DocumentSeal",
    "DocumentSignature",
    "FollowUp",
    "Hearing",
    "HearingChatMessage",
    "HearingParticipant",
    "IdentityCheck",
    "IdentityDeclaration",
    "Invitation",
    "Job",
    "LoginAttempt",
    "MediationRecord",
    "Organisation",
    "Party",
    "Rating",
    "RecordConfirmation",
    "RecordStatement",
    "RecordVersion",
    "RecordingBookmark",
    "RecordingConsent",
    "RecordingEvent",
    "RecordingExport",
    "RecordingManifest",
    "RecordingSegment",
    "RecordingSession",
    "RecordingTrack",
    "Routing",
    "SigningKey",
    "Staff",
    "Summons",
    "Supervision",
    "ThrottleHit",
    "Transcript",
    "TranscriptLine",
    "WebSession",
]
