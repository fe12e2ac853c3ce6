"""Case workflow requests and the case as the API returns it."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, model_validator

from server.validation import Body, DbId, IdNumber, LongText, Phone, ShortText
from server.vocabulary import (
    CaseStatus,
    Channel,
    DisputeType,
    FollowUpResult,
    Lane,
    NextStep,
    Outcome,
    PartyRole,
)


class PartyIn(Body):
    """A party named at intake. An agent names the party it represents by list position."""

    role: PartyRole
    name: str = Field(min_length=1, max_length=100)
    id_number: IdNumber = ""
    phone: Phone = ""
    address: str = Field(default="", max_length=200)
    represents: int | None = Field(default=None, ge=0, le=19)


class IntakeRequest(Body):
    """统一受理: a dispute accepted at the one window. With a type it is registered at once."""

    channel: Channel
    centre_code: str | None = Field(default=None, max_length=32)
    title: ShortText
    facts: LongText = ""
    claims: str = Field(default="", max_length=5_000)
    dispute_type: DisputeType | None = None
    lane: Lane = Lane.NORMAL
    parties: list[PartyIn] = Field(min_length=1, max_length=20)

    @model_validator(mode="after")
    def _an_applicant_and_valid_agents(self) -> IntakeRequest:
        if not any(p.role == PartyRole.APPLICANT for p in self.parties):
            raise ValueError("field.applicant_required")
        for party in self.parties:
            if party.role != PartyRole.AGENT and party.represents is not None:
                raise ValueError("field.represents_only_agent")
            if party.role == PartyRole.AGENT:
                target = party.represents
                if (
                    target is None
                    or target >= len(self.parties)
                    or self.parties[target].role == PartyRole.AGENT
                ):
                    raise ValueError("field.agent_represents")
        return self


class AcceptRequest(Body):
    """Accept an online submission at the window (optionally registering it at once)."""

    dispute_type: DisputeType | None = None
    lane: Lane = Lane.NORMAL


class DeclineRequest(Body):
    """Do not accept an online submission, saying why (the citizen sees the reason)."""

    reason: str = Field(min_length=1, max_length=1_000)


class RegisterRequest(Body):
    """登记: give the case its type (and number)."""

    dispute_type: DisputeType
    lane: Lane | None = None


RouteTarget = Literal["centre", "room", "department", "court", "mediator"]


class RouteRequest(Body):
    """分流转办: send the case on, with a reason."""

    target: RouteTarget
    org_code: str | None = Field(default=None, max_length=32)
    mediator_id: DbId | None = None
    reason: str = Field(min_length=1, max_length=1_000)
    lane: Lane | None = None

    @model_validator(mode="after")
    def _target_named(self) -> RouteRequest:
        if self.target == "mediator" and self.mediator_id is None:
            raise ValueError("field.mediator_required")
        if self.target != "mediator" and not self.org_code:
            raise ValueError("field.org_required")
        return self


class SupervisionRequest(Body):
    """督办: a supervisor's note, optionally with a date by which to report back."""

    note: str = Field(min_length=1, max_length=2_000)
    respond_by: dt.date | None = None


class ConsultationRequest(Body):
    """会商研判: summon departments to a case."""

    topic: str = Field(min_length=1, max_length=2_000)
    department_codes: list[Annotated[str, Field(min_length=1, max_length=32)]] = Field(
        min_length=1, max_length=10
    )
    respond_by: dt.date


class SummonsReply(Body):
    """部门报到: a summoned department's report."""

    response: str = Field(min_length=1, max_length=4_000)


class CloseRequest(Body):
    """办结: how the case ended."""

    outcome: Outcome
    next_step: NextStep | None = None
    note: str = Field(default="", max_length=4_000)

    @model_validator(mode="after")
    def _next_step_when_not_mediated(self) -> CloseRequest:
        if self.outcome == Outcome.NOT_MEDIATED and self.next_step is None:
            raise ValueError("field.next_step_required")
        if self.outcome != Outcome.NOT_MEDIATED and self.next_step is not None:
            raise ValueError("field.next_step_only_when_not_mediated")
        return self


class FeedbackRequest(Body):
    """办结反馈: what the parties are told at closure."""

    note: str = Field(min_length=1, max_length=2_000)


class FollowUpRequest(Body):
    """Schedule a follow-up visit."""

    due_on: dt.date
    assignee_id: DbId | None = None


class FollowUpResultRequest(Body):
    """Record what a follow-up visit found."""

    result: FollowUpResult
    note: str = Field(default="", max_length=2_000)


class RatingRequest(Body):
    """群众评价: a party's rating, 1 to 5."""

    score: int = Field(ge=1, le=5)
    comment: str = Field(default="", max_length=1_000)


class PublicDisputeRequest(Body):
    """A dispute a citizen files without an account."""

    centre_code: str = Field(min_length=1, max_length=32)
    name: str = Field(min_length=1, max_length=100)
    phone: Phone = Field(min_length=5)
    id_number: IdNumber = ""
    respondent_name: str = Field(default="", max_length=100)
    respondent_phone: Phone = ""
    title: ShortText
    facts: str = Field(min_length=1, max_length=10_000)
    claims: str = Field(default="", max_length=5_000)


class PartyOut(BaseModel):
    """A party, with the ID number and phone masked."""

    id: int
    role: PartyRole
    name: str
    id_number_masked: str
    phone_masked: str
    represents_id: int | None


class CaseSummary(BaseModel):
    """A row of the case list."""

    id: int
    number: str | None
    title: str
    status: CaseStatus
    dispute_type: DisputeType | None
    lane: Lane
    channel: Channel
    centre_code: str
    accepted_at: dt.datetime
    deadline_on: dt.date | None
    overdue: bool


class CaseDetail(CaseSummary):
    """One case in full."""

    facts: str
    claims: str
    centre_name: str
    room_code: str | None
    department_code: str | None
    court_code: str | None
    mediator_id: int | None
    first_receiver_id: int | None
    outcome: Outcome | None
    next_step: NextStep | None
    outcome_note: str
    closed_at: dt.datetime | None
    feedback_at: dt.datetime | None
    parties: list[PartyOut]


class CasePage(BaseModel):
    """A page of the case list; ``next_cursor`` fetches the next page (keyset pagination)."""

    items: list[CaseSummary]
    next_cursor: str | None


class IntakeResult(BaseModel):
    """A new case, and each party's personal link (shown once; only its hash is kept)."""

    case: CaseDetail
    party_links: dict[int, str]


class TimelineEvent(BaseModel):
    """One timeline entry."""

    id: int
    at: dt.datetime
    kind: str
    actor_id: int | None
    actor_label: str
    detail: dict[str, Any]


class SummonsOut(BaseModel):
    """A department's summons to a joint consultation, as its liaison sees it."""

    id: int
    case_id: int
    case_number: str | None
    case_title: str
    topic: str
    respond_by: dt.date
    status: str
    responded_at: dt.datetime | None
    response: str


class PublicDisputeResult(BaseModel):
    """What a citizen gets back: a reference and the link to follow the dispute."""

    reference: int
    follow_url: str
