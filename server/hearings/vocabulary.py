"""The fixed vocabularies of hearings. Values are stored in the database and used in the API;
display names live in ``web/i18n/*/hearing.json``."""

from __future__ import annotations

from enum import StrEnum


class HearingKind(StrEnum):
    """What a hearing is for."""

    MEDIATION = "mediation"  # 调解
    CONSULTATION = "consultation"  # 会商研判: the departments summoned to a case
    CONFIRMATION_HEARING = "confirmation_hearing"  # 司法确认, presided by a judge


class ParticipantRole(StrEnum):
    """A participant's place in a hearing."""

    APPLICANT = "applicant"
    RESPONDENT = "respondent"
    AGENT = "agent"
    MEDIATOR = "mediator"
    CO_MEDIATOR = "co_mediator"
    JUDGE = "judge"
    COURT_CLERK = "court_clerk"
    DEPARTMENT_LIAISON = "department_liaison"
    INTERPRETER = "interpreter"
    OBSERVER = "observer"


# Who runs the hearing (admits, mutes, confirms identities).
PRESIDING_ROLES: frozenset[ParticipantRole] = frozenset(
    {ParticipantRole.MEDIATOR, ParticipantRole.CO_MEDIATOR, ParticipantRole.JUDGE}
)
# The parties' side: they declare their identity and are asked for consent to recording.
PARTY_SIDE_ROLES: frozenset[ParticipantRole] = frozenset(
    {ParticipantRole.APPLICANT, ParticipantRole.RESPONDENT, ParticipantRole.AGENT}
)


class ParticipantKind(StrEnum):
    """Who stands behind a participant row."""

    PARTY = "party"  # a party of the case (``party_id``)
    STAFF = "staff"  # a staff account (``staff_id``)
    GUEST = "guest"  # a named outside person: an interpreter, a lawyer, an observer
    GROUP = "group"  # one device standing for several people, e.g. in a village centre's room


class InvitationState(StrEnum):
    """Where a participant's newest invitation link stands."""

    ACTIVE = "active"
    REVOKED = "revoked"
    EXPIRED = "expired"
    NONE = "none"  # never issued


class RevocationReason(StrEnum):
    """Why an invitation stopped working before it expired."""

    REVOKED = "revoked"  # withdrawn by staff
    REISSUED = "reissued"  # replaced by a new link


class IdentityMethod(StrEnum):
    """How the presiding participant checked a declared identity."""

    ID_DOCUMENT_ON_CAMERA = "id_document_on_camera"  # the ID card held up to the camera
    FACE_TO_RECORD = "face_to_record"  # the face compared with the photo on file
    PERSONALLY_KNOWN = "personally_known"  # known to the mediator in person


class IdentityOutcome(StrEnum):
    """The result of an identity check."""

    CONFIRMED = "confirmed"
    NOT_CONFIRMED = "not_confirmed"
