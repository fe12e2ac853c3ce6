"""Who is making a request, as the server's own session says."""

from __future__ import annotations

from dataclasses import dataclass

from server.hearings.vocabulary import ParticipantRole
from server.vocabulary import OrgKind, Role


@dataclass(frozen=True)
class StaffPrincipal:
    """A logged-in staff member, with what access decisions need about their organisation."""

    staff_id: int
    username: str
    display_name: str
    role: Role
    org_id: int
    org_code: str
    org_name: str
    org_kind: OrgKind
    org_path: str


@dataclass(frozen=True)
class PartyPrincipal:
    """A party who came in through their personal link; sees only their own case."""

    party_id: int
    case_id: int
    name: str


@dataclass(frozen=True)
class ParticipantPrincipal:
    """Someone who came in through a hearing invitation link: a seat in that one hearing and
    nothing else (a staff member's link grants no staff rights)."""

    participant_id: int
    hearing_id: int
    case_id: int
    name: str
    hearing_role: ParticipantRole


Principal = StaffPrincipal | PartyPrincipal | ParticipantPrincipal
