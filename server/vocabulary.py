"""The domain's fixed vocabularies (see shared DOMAIN.md): roles, kinds, types, states.

Values are stable identifiers stored in the database and used in the API; display names live in
the translation catalogues (``server/i18n.py``).
"""

from __future__ import annotations

from enum import StrEnum


class OrgKind(StrEnum):
    """What an organisation in the tree is."""

    CITY = "city"
    COUNTY = "county"
    TOWNSHIP = "township"
    VILLAGE = "village"
    DEPARTMENT = "department"
    MEDIATION_ROOM = "mediation_room"
    COURT = "court"


CENTRE_KINDS: tuple[OrgKind, ...] = (
    OrgKind.CITY,
    OrgKind.COUNTY,
    OrgKind.TOWNSHIP,
    OrgKind.VILLAGE,
)


class Role(StrEnum):
    """A staff account's role."""

    ADMINISTRATOR = "administrator"
    INTAKE_CLERK = "intake_clerk"
    MEDIATOR = "mediator"
    SUPERVISOR = "supervisor"
    DEPARTMENT_LIAISON = "department_liaison"
    JUDGE = "judge"
    COURT_CLERK = "court_clerk"


class DisputeType(StrEnum):
    """Registered dispute types (the first four are the published Wuwei categories)."""

    MARRIAGE_FAMILY = "marriage_family"
    NEIGHBOUR = "neighbour"
    LABOUR = "labour"
    LAND = "land"
    ROAD_TRAFFIC = "road_traffic"
    MEDICAL = "medical"
    PROPERTY_MANAGEMENT = "property_management"
    LAND_CONTRACT = "land_contract"
    ENVIRONMENT = "environment"
    OTHER = "other"


class Channel(StrEnum):
    """How a dispute reached the one window (统一受理)."""

    WALK_IN = "walk_in"
    HOTLINE = "hotline"
    ONLINE = "online"
    TRANSFERRED_FROM_ABOVE = "transferred_from_above"
    REPORTED_FROM_BELOW = "reported_from_below"
    OTHER = "other"


class Lane(StrEnum):
    """繁简分流: fast lane for simple disputes settled on the spot, normal lane otherwise."""

    FAST = "fast"
    NORMAL = "normal"


class CaseStatus(StrEnum):
    """Where a case stands in the centre's workflow."""

    SUBMITTED = "submitted"  # filed by a citizen online, not yet accepted at the window
    ACCEPTED = "accepted"  # 受理: at the window, not yet registered
    REGISTERED = "registered"  # 登记: type and case number given
    ROUTED = "routed"  # 分流转办: sent to a room, mediator, department or court
    MEDIATING = "mediating"  # 调解中
    CLOSED = "closed"  # 办结
    DECLINED = "declined"  # an online submission the window did not accept


OPEN_STATUSES: tuple[CaseStatus, ...] = (
    CaseStatus.SUBMITTED,
    CaseStatus.ACCEPTED,
    CaseStatus.REGISTERED,
    CaseStatus.ROUTED,
    CaseStatus.MEDIATING,
)


class Outcome(StrEnum):
    """How a closed case ended."""

    MEDIATED = "mediated"
    NOT_MEDIATED = "not_mediated"
    WITHDRAWN = "withdrawn"


class NextStep(StrEnum):
    """Where a dispute that was not mediated went next."""

    LITIGATION = "litigation"
    ARBITRATION = "arbitration"
    ADMINISTRATIVE = "administrative"
    ESCALATION = "escalation"


class PartyRole(StrEnum):
    """A party's place in the case."""

    APPLICANT = "applicant"
    RESPONDENT = "respondent"
    AGENT = "agent"


class FollowUpResult(StrEnum):
    """What a follow-up visit found."""

    HOLDING = "holding"  # the agreement is being performed
    PARTLY = "partly"  # partly performed
    BROKEN = "broken"  # not performed, the dispute is back
    UNREACHABLE = "unreachable"
