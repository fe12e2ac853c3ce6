"""The first half of 2022: 3,436 closed cases that reproduce Wuwei's published figures.

The cases are generated from a fixed seed and written with bulk inserts, but row for row they
are what the workflow would have left behind: the first receiver, the number from the county's
(or the city's) counter, the deadline from the lane and type, routings to rooms, departments and
courts, the timeline events with the same details the workflow records, feedback, ratings given
through the parties' links, and follow-up visits.
"""

from __future__ import annotations

import bisect
import dataclasses
import datetime as dt
import itertools
import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth.tokens import new_token, token_hash
from server.db import (
    Base,
    Case,
    CaseEvent,
    CaseNumberCounter,
    FollowUp,
    Organisation,
    Party,
    Rating,
    Routing,
    Staff,
    Supervision,
)
from server.demo.accounts import ACCOUNTS
from server.demo.orgs import (
    CITY,
    COUNTIES,
    PERSONAL_ROOMS,
    VILLAGES,
    County,
    court_code,
    department_code,
    room_code,
    township_of,
)
from server.demo.people import People, Person
from server.demo.texts import (
    DISEASES,
    ESTATES,
    FARMS,
    FEEDBACK,
    FEEDBACK_NOT_MEDIATED,
    FIRM_NAMES,
    FOLLOW_UP_NOTES,
    NOT_MEDIATED,
    PROJECTS,
    RATING_COMMENTS,
    ROADS,
    TEMPLATES,
    VEHICLES,
    Template,
)
from server.vocabulary import (
    CaseStatus,
    Channel,
    DisputeType,
    FollowUpResult,
    Lane,
    NextStep,
    OrgKind,
    Outcome,
    PartyRole,
    Role,
)
from server.workflow.deadlines import days_allowed

T = TypeVar("T")

SEED = 20220630
YEAR = 2022
FIRST_DAY = dt.date(2022, 1, 1)
LAST_DAY = dt.date(2022, 6, 30)

# The published table: 3,436 accepted, 3,410 mediated; the four named types exactly, and the
# 1,114 "other" disputes spread over the remaining types.
TYPE_COUNTS: dict[DisputeType, int] = {
    DisputeType.MARRIAGE_FAMILY: 579,
    DisputeType.NEIGHBOUR: 792,
    DisputeType.LABOUR: 563,
    DisputeType.LAND: 388,
    DisputeType.ROAD_TRAFFIC: 268,
    DisputeType.MEDICAL: 96,
    DisputeType.PROPERTY_MANAGEMENT: 214,
    DisputeType.LAND_CONTRACT: 178,
    DisputeType.ENVIRONMENT: 62,
    DisputeType.OTHER: 296,
}
# The 26 disputes that were not mediated, and where each went next.
NOT_MEDIATED_PLAN: tuple[tuple[DisputeType, NextStep, int], ...] = (
    (DisputeType.LABOUR, NextStep.ARBITRATION, 5),
    (DisputeType.LABOUR, NextStep.LITIGATION, 1),
    (DisputeType.MARRIAGE_FAMILY, NextStep.LITIGATION, 5),
    (DisputeType.NEIGHBOUR, NextStep.LITIGATION, 3),
    (DisputeType.NEIGHBOUR, NextStep.ESCALATION, 1),
    (DisputeType.LAND, NextStep.ADMINISTRATIVE, 3),
    (DisputeType.LAND, NextStep.ESCALATION, 1),
    (DisputeType.ROAD_TRAFFIC, NextStep.LITIGATION, 3),
    (DisputeType.MEDICAL, NextStep.LITIGATION, 2),
    (DisputeType.PROPERTY_MANAGEMENT, NextStep.LITIGATION, 1),
    (DisputeType.ENVIRONMENT, NextStep.ESCALATION, 1),
)

# Where disputes of a type are taken in: weights of county centre, township, village.
LEVEL_WEIGHTS: dict[DisputeType, tuple[float, float, float]] = {
    DisputeType.MARRIAGE_FAMILY: (0.35, 0.45, 0.20),
    DisputeType.NEIGHBOUR: (0.20, 0.50, 0.30),
    DisputeType.LABOUR: (0.60, 0.35, 0.05),
    DisputeType.LAND: (0.15, 0.50, 0.35),
    DisputeType.ROAD_TRAFFIC: (0.70, 0.30, 0.0),
    DisputeType.MEDICAL: (0.90, 0.10, 0.0),
    DisputeType.PROPERTY_MANAGEMENT: (0.40, 0.60, 0.0),
    DisputeType.LAND_CONTRACT: (0.30, 0.45, 0.25),
    DisputeType.ENVIRONMENT: (0.45, 0.40, 0.15),
    DisputeType.OTHER: (0.35, 0.45, 0.20),
}
# Share of the caseload: the city centre itself, then each county (by population).
AREA_WEIGHTS: dict[str, float] = {
    CITY: 0.03,
    "620602": 0.48,
    "620621": 0.15,
    "620622": 0.20,
    "620623": 0.14,
}
# 繁简分流: the share of each type settled in the fast lane.
FAST_SHARE: dict[DisputeType, float] = {
    DisputeType.MARRIAGE_FAMILY: 0.55,
    DisputeType.NEIGHBOUR: 0.75,
    DisputeType.LABOUR: 0.35,
    DisputeType.LAND: 0.50,
    DisputeType.ROAD_TRAFFIC: 0.45,
    DisputeType.MEDICAL: 0.10,
    DisputeType.PROPERTY_MANAGEMENT: 0.60,
    DisputeType.LAND_CONTRACT: 0.45,
    DisputeType.ENVIRONMENT: 0.30,
    DisputeType.OTHER: 0.60,
}
CHANNEL_WEIGHTS: dict[OrgKind, dict[Channel, float]] = {
    OrgKind.CITY: {
        Channel.WALK_IN: 0.45,
        Channel.HOTLINE: 0.25,
        Channel.ONLINE: 0.15,
        Channel.REPORTED_FROM_BELOW: 0.10,
        Channel.OTHER: 0.05,
    },
    OrgKind.COUNTY: {
        Channel.WALK_IN: 0.50,
        Channel.HOTLINE: 0.12,
        Channel.ONLINE: 0.10,
        Channel.REPORTED_FROM_BELOW: 0.18,
        Channel.TRANSFERRED_FROM_ABOVE: 0.05,
        Channel.OTHER: 0.05,
    },
    OrgKind.TOWNSHIP: {
        Channel.WALK_IN: 0.62,
        Channel.HOTLINE: 0.10,
        Channel.ONLINE: 0.05,
        Channel.REPORTED_FROM_BELOW: 0.10,
        Channel.TRANSFERRED_FROM_ABOVE: 0.10,
        Channel.OTHER: 0.03,
    },
    OrgKind.VILLAGE: {
        Channel.WALK_IN: 0.80,
        Channel.HOTLINE: 0.05,
        Channel.ONLINE: 0.02,
        Channel.TRANSFERRED_FROM_ABOVE: 0.10,
        Channel.OTHER: 0.03,
    },
}
# Seasons: wages are claimed before the Spring Festival, land and water in spring ploughing,
# betrothal gifts after the festival.
MONTH_FACTORS: dict[DisputeType, tuple[float, ...]] = {
    DisputeType.LABOUR: (1.9, 0.6, 0.9, 0.9, 1.0, 1.1),
    DisputeType.LAND: (0.5, 0.7, 1.5, 1.7, 1.1, 0.8),
    DisputeType.LAND_CONTRACT: (0.6, 0.8, 1.6, 1.4, 1.0, 0.8),
    DisputeType.MARRIAGE_FAMILY: (1.1, 1.5, 1.1, 0.9, 0.9, 0.8),
}
# Public holidays of 2022 (New Year, Spring Festival, Qingming, Labour Day, Dragon Boat), and
# the weekend days worked in exchange (调休).
HOLIDAYS = (
    (dt.date(2022, 1, 1), dt.date(2022, 1, 3)),
    (dt.date(2022, 1, 31), dt.date(2022, 2, 6)),
    (dt.date(2022, 4, 3), dt.date(2022, 4, 5)),
    (dt.date(2022, 4, 30), dt.date(2022, 5, 4)),
    (dt.date(2022, 6, 3), dt.date(2022, 6, 5)),
)
WORKED_WEEKENDS = (
    dt.date(2022, 1, 29),
    dt.date(2022, 1, 30),
    dt.date(2022, 4, 2),
    dt.date(2022, 4, 24),
    dt.date(2022, 5, 7),
)
RATING_SCORES = ((5, 0.78), (4, 0.17), (3, 0.04), (2, 0.01))
RATING_SCORES_NOT_MEDIATED = ((4, 0.2), (3, 0.5), (2, 0.2), (1, 0.1))
FOLLOW_UP_RESULTS = (
    (FollowUpResult.HOLDING, 0.90),
    (FollowUpResult.PARTLY, 0.06),
    (FollowUpResult.BROKEN, 0.02),
    (FollowUpResult.UNREACHABLE, 0.02),
)
TYPE_NAMES: dict[DisputeType, str] = {
    DisputeType.MARRIAGE_FAMILY: "婚姻家庭",
    DisputeType.NEIGHBOUR: "邻里",
    DisputeType.LABOUR: "劳资",
    DisputeType.LAND: "土地",
    DisputeType.ROAD_TRAFFIC: "道路交通",
    DisputeType.MEDICAL: "医疗",
    DisputeType.PROPERTY_MANAGEMENT: "物业",
    DisputeType.LAND_CONTRACT: "土地承包",
    DisputeType.ENVIRONMENT: "生态环境",
    DisputeType.OTHER: "其他",
}
OPEN_AT = dt.time(8, 30)
OFFICE_MINUTES = 9 * 60  # 08:30 to 17:30


@dataclass(frozen=True)
class Actor:
    """Who did something: an account, or a named person without one (``label``)."""

    staff_id: int | None
    name: str
    label: str = ""


# A timeline entry before it is written: when, kind, who, detail.
Event = tuple[dt.datetime, str, "Actor | None", dict[str, Any]]


@dataclass
class Place:
    """A centre that takes in disputes, with what addresses and staff it has."""

    centre: Organisation
    county: County | None
    township: str  # township name, for addresses ("" at city and county level)
    village: str | None
    urban: bool
    clerk: Actor
    mediator: Actor


@dataclass(frozen=True)
class Visit:
    """A follow-up visit: scheduled after closure, done around its due date."""

    due_on: dt.date
    scheduler: Actor
    assignee: Actor
    scheduled_at: dt.datetime
    visited_at: dt.datetime
    result: FollowUpResult
    note: str


@dataclass
class Plan:
    """One generated case before it is written."""

    dispute_type: DisputeType
    template: Template
    place: Place  # where it was taken in and registered
    handler: Place  # where it was handled (differs when the city transferred it down)
    channel: Channel
    lane: Lane
    accepted_on: dt.date
    accepted_at: dt.datetime
    registered_at: dt.datetime
    outcome: Outcome = Outcome.MEDIATED
    next_step: NextStep | None = None
    deadline_on: dt.date = FIRST_DAY
    number: str = ""
    title: str = ""
    facts: str = ""
    claims: str = ""
    outcome_note: str = ""
    closed_at: dt.datetime = dt.datetime.min
    feedback_at: dt.datetime | None = None
    feedback_note: str = ""
    room: Organisation | None = None
    department: Organisation | None = None
    court: Organisation | None = None
    mediator: Actor | None = None
    parties: list[dict[str, Any]] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    routing: dict[str, Any] | None = None
    supervision: dict[str, Any] | None = None
    ratings: list[tuple[int, int, str, dt.datetime]] = field(default_factory=list)
    follow_up: Visit | None = None
    submitted_at: dt.datetime | None = None


async def history_exists(db: AsyncSession) -> bool:
    """Whether cases accepted in the first half of 2022 are already there."""
    count = await db.scalar(
        select(func.count())
        .select_from(Case)
        .where(Case.accepted_on >= FIRST_DAY, Case.accepted_on <= LAST_DAY)
    )
    return bool(count)


class History:
    """Generates the half-year's cases; :meth:`write` inserts them."""

    def __init__(
        self,
        orgs: dict[str, Organisation],
        staff: dict[str, Staff],
        deadline_days: dict[tuple[Lane, DisputeType], int],
        timezone: str,
        numbers_taken: dict[str, int],
    ) -> None:
        self.rng = random.Random(SEED)
        # Numbers already given in 2022 (by numbering organisation); the demo continues after.
        self.last_numbers: Counter[str] = Counter(numbers_taken)
        self.mediator_ids = {s.id for s in staff.values() if s.role == Role.MEDIATOR}
        self.people = People(self.rng)
        self.orgs = orgs
        self.staff = staff
        self.deadline_days = deadline_days
        self.tz = ZoneInfo(timezone)
        self.places, self.villages = self._places()
        self.day_weights = self._day_weights()
        self.cumulative: dict[DisputeType, list[float]] = {}

    # ---- places and people ------------------------------------------------------------------

    def _account(self, org_code: str, *roles: Role) -> Actor | None:
        """The first account of ``org_code`` with a role of ``roles`` (in order of preference)."""
        for role in roles:
            for spec in ACCOUNTS:
                if spec.org_code == org_code and spec.role == role and spec.username in self.staff:
                    account = self.staff[spec.username]
                    return Actor(account.id, account.display_name)
        return None

    def _someone(self, org: Organisation, salt: str) -> Actor:
        # Staff of centres without an account appear by name (a separate generator, so the
        # names do not depend on the order in which centres are met).
        rng = random.Random(f"{SEED}:{org.code}:{salt}")
        name = People(rng).name(rng.random() < 0.5)
        return Actor(None, name, f"{name}（{org.name}）")

    def actor_at(self, org: Organisation, kind: str) -> Actor:
        """The clerk or mediator of ``org``: its account, or a named person."""
        roles = {
            "clerk": (Role.INTAKE_CLERK, Role.SUPERVISOR),
            "mediator": (Role.MEDIATOR, Role.SUPERVISOR),
        }[kind]
        return self._account(org.code, *roles) or self._someone(org, kind)

    def _place(self, org: Organisation, county: County | None, township: str = "") -> Place:
        village = org.name.removesuffix("综治中心") if org.kind == OrgKind.VILLAGE else None
        urban = not township or (village or township).endswith(("街道", "社区"))
        return Place(
            org,
            county,
            township,
            village,
            urban,
            self.actor_at(org, "clerk"),
            self.actor_at(org, "mediator"),
        )

    def _places(self) -> tuple[dict[str, Place], dict[str, list[Place]]]:
        """Centres by code, and each county's village centres."""
        places = {CITY: self._place(self.orgs[CITY], None)}
        villages: dict[str, list[Place]] = {}
        for county in COUNTIES:
            places[county.code] = self._place(self.orgs[county.code], county)
            names = dict(county.townships)
            for code, name in county.townships:
                places[code] = self._place(self.orgs[code], county, name)
            villages[county.code] = [
                self._place(self.orgs[code], county, names[township_of(code)])
                for code, _ in VILLAGES
                if code.startswith(county.code)
            ]
        return places, villages

    def _choose(self, weighted: list[tuple[T, float]]) -> T:
        total = sum(w for _, w in weighted)
        pick = self.rng.random() * total
        for item, weight in weighted:
            pick -= weight
            if pick < 0:
                return item
        return weighted[-1][0]

    def _place_for(self, dispute_type: DisputeType) -> Place:
        area = self._choose(list(AREA_WEIGHTS.items()))
        if area == CITY:
            return self.places[CITY]
        county = next(c for c in COUNTIES if c.code == area)
        level = self._choose(
            list(zip(("county", "township", "village"), LEVEL_WEIGHTS[dispute_type], strict=True))
        )
        if level == "village":
            return self.rng.choice(self.villages[county.code])
        if level == "township":
            rural_only = dispute_type in (DisputeType.LAND, DisputeType.LAND_CONTRACT)
            candidates = [self.places[code] for code, _ in county.townships]
            if dispute_type == DisputeType.PROPERTY_MANAGEMENT:
                candidates = [p for p in candidates if p.urban]
            elif rural_only:
                candidates = [p for p in candidates if not p.urban]
            if candidates:
                # Bigger towns see more disputes: a fixed weight per township.
                return self._choose(
                    [(p, 0.6 + (int(p.centre.code[6:9]) * 7919 % 100) / 100) for p in candidates]
                )
        return self.places[county.code]

    def _person(self, place: Place, **kwargs: Any) -> Person:
        county = place.county or COUNTIES[0]
        kwargs.setdefault("tibetan_share", 0.35 if county.code == "620623" else 0.0)
        return self.people.person(county.code, county.old_id_area, **kwargs)

    def _address(self, place: Place) -> str:
        county = place.county or COUNTIES[0]
        if place.township:
            if place.urban:
                return self.people.town_address(county.name, place.township)
            return self.people.rural_address(county.name, place.township, place.village)
        # At the county and city centres people come from town and from the villages.
        township = self.rng.choice(county.townships)[1]
        if self.rng.random() < 0.45:
            return self.people.town_address(county.name, county.townships[0][1])
        return self.people.rural_address(county.name, township)

    # ---- dates --------------------------------------------------------------------------------

    def _day_weights(self) -> list[tuple[dt.date, float]]:
        days = []
        day = FIRST_DAY
        while day <= LAST_DAY:
            weight = (1.0, 1.0, 1.0, 1.0, 1.0, 0.35, 0.25)[day.weekday()]
            if day in WORKED_WEEKENDS:
                weight = 1.0
            if any(start <= day <= end for start, end in HOLIDAYS):
                weight = 0.15
            days.append((day, weight))
            day += dt.timedelta(days=1)
        return days

    def _day(self, dispute_type: DisputeType) -> dt.date:
        cumulative = self.cumulative.get(dispute_type)
        if cumulative is None:
            months = MONTH_FACTORS.get(dispute_type, (1.0,) * 6)
            weights = [w * months[d.month - 1] for d, w in self.day_weights]
            cumulative = self.cumulative[dispute_type] = list(itertools.accumulate(weights))
        index = bisect.bisect(cumulative, self.rng.random() * cumulative[-1])
        return self.day_weights[min(index, len(cumulative) - 1)][0]

    def _at(self, day: dt.date, minute: int) -> dt.datetime:
        local = dt.datetime.combine(day, OPEN_AT, self.tz) + dt.timedelta(minutes=minute)
        return local.astimezone(dt.UTC)

    def _office_time(self, day: dt.date) -> dt.datetime:
        return self._at(day, self.rng.randint(0, OFFICE_MINUTES - 60))

    def _local_date(self, moment: dt.datetime) -> dt.date:
        return moment.astimezone(self.tz).date()

    def _later(self, moment: dt.datetime, lo: int, hi: int) -> dt.datetime:
        """``lo``–``hi`` minutes later, moved to the next morning if past office hours."""
        later = moment + dt.timedelta(minutes=self.rng.randint(lo, hi))
        local = later.astimezone(self.tz)
        if local.time() > dt.time(17, 50) or local.time() < OPEN_AT:
            next_day = local.date() + dt.timedelta(days=1 if local.time() > OPEN_AT else 0)
            later = self._at(next_day, self.rng.randint(0, 90))
        return later

    # ---- generation ---------------------------------------------------------------------------

    def generate(self) -> list[Plan]:
        """Every case of the half-year, oldest first, numbered."""
        plans: list[Plan] = []
        for dispute_type, count in TYPE_COUNTS.items():
            for _ in range(count):
                plans.append(self._plan(dispute_type))
        # The not-mediated ones: chosen per type among cases handled by county or township
        # centres (village committees pass hard cases up rather than give up on them).
        for dispute_type, next_step, count in NOT_MEDIATED_PLAN:
            pool = [
                p
                for p in plans
                if p.dispute_type == dispute_type
                and p.outcome == Outcome.MEDIATED
                and p.handler.centre.kind in (OrgKind.COUNTY, OrgKind.TOWNSHIP, OrgKind.CITY)
            ]
            for plan in self.rng.sample(pool, count):
                plan.outcome = Outcome.NOT_MEDIATED
                plan.next_step = next_step
                plan.lane = Lane.NORMAL
        plans.sort(key=lambda p: p.accepted_at)
        for plan in plans:
            self._route(plan)
            self._settle(plan)
            self._supervise(plan)
            self._aftercare(plan)
            self._fill_texts(plan)
        self._number(plans)
        for plan in plans:
            self._timeline(plan)
        return plans

    def _plan(self, dispute_type: DisputeType) -> Plan:
        rng = self.rng
        place = self._place_for(dispute_type)
        template = rng.choice(TEMPLATES[dispute_type])
        channel = self._choose(list(CHANNEL_WEIGHTS[place.centre.kind].items()))
        lane = Lane.FAST if rng.random() < FAST_SHARE[dispute_type] else Lane.NORMAL
        day = self._day(dispute_type)
        submitted_at = None
        if channel == Channel.ONLINE:
            # Filed online at any hour; the window accepts it in office hours.
            # (On the last day, early enough to be accepted before the half-year ends.)
            latest = 6 * 60 if day == LAST_DAY else 15 * 60
            submitted_at = (
                dt.datetime.combine(day, dt.time(7, 0), self.tz)
                + dt.timedelta(minutes=rng.randint(0, latest))
            ).astimezone(dt.UTC)
            accepted_at = self._later(submitted_at, 20, 240)
        else:
            accepted_at = self._office_time(day)
        registered_at = accepted_at + dt.timedelta(minutes=rng.randint(3, 25))
        plan = Plan(
            dispute_type=dispute_type,
            template=template,
            place=place,
            handler=place,
            channel=channel,
            lane=lane,
            accepted_on=day,
            accepted_at=submitted_at or accepted_at,
            registered_at=registered_at,
            submitted_at=submitted_at,
        )
        plan.events.append(
            (
                accepted_at,
                "accepted",
                place.clerk,
                {
                    "channel": channel.value,
                    "centre": place.centre.code,
                    "first_receiver": place.clerk.name,
                }
                if submitted_at is None
                else {"channel": channel.value, "first_receiver": place.clerk.name},
            )
        )
        self._parties(plan)
        return plan

    def _parties(self, plan: Plan) -> None:
        rng = self.rng
        template, place = plan.template, plan.place
        applicants: list[dict[str, Any]] = []
        county = place.county or COUNTIES[0]
        first: Person | None = None
        for index in range(rng.randint(*template.applicants)):
            if template.applicant == "property" and index == 0:
                applicants.append(
                    self._firm(rng.choice(FIRM_NAMES["property"]), PartyRole.APPLICANT, county)
                )
                continue
            born_from, born_to = template.born
            person = self._person(place, born_from=born_from, born_to=born_to)
            first = first or person
            applicants.append(self._party(person, PartyRole.APPLICANT, self._address(place)))
        if template.respondent == "person":
            respondent = self._party(
                self._relative(place, template.relation, first),
                PartyRole.RESPONDENT,
                self._address(place),
            )
        elif template.respondent == "group":
            village = place.village or self.people.village()
            group = "一二三四五六七八"[rng.randint(0, 7)]
            respondent = {
                "role": PartyRole.RESPONDENT,
                "name": f"{village}第{group}村民小组",
                "id_number": "",
                "phone": self.people.phone(),
                "address": f"{county.name}{place.township or county.townships[0][1]}{village}",
            }
        else:
            respondent = self._firm(
                rng.choice(FIRM_NAMES[template.respondent]), PartyRole.RESPONDENT, county
            )
        plan.parties = [*applicants, respondent]
        if rng.random() < 0.08:
            agent = self._party(self._person(place), PartyRole.AGENT, "")
            if rng.random() < 0.5:
                agent["address"] = "甘肃某律师事务所"
            agent["represents"] = 0
            plan.parties.append(agent)

    def _relative(self, place: Place, relation: str, first: Person | None) -> Person:
        """The respondent: the applicant's spouse, sibling or child where the dispute says so."""
        if first is None or not relation:
            return self._person(place)
        year = first.born.year
        family = 1.0 if first.tibetan else 0.0
        if relation == "spouses":
            person = self._person(
                place,
                male=not first.male,
                born_from=year - 5,
                born_to=min(year + 5, 2000),
                tibetan_share=family,
            )
        elif relation == "siblings":
            person = self._person(
                place, born_from=year - 8, born_to=min(year + 8, 1990), tibetan_share=family
            )
        else:  # an old parent's grown-up child
            person = self._person(
                place, born_from=year + 20, born_to=min(year + 35, 1990), tibetan_share=family
            )
        # Siblings, and a father's children, share the surname (Tibetan names have none).
        kin = relation == "siblings" or (relation == "parent" and first.male)
        if kin and not first.tibetan and not person.tibetan:
            person = dataclasses.replace(person, name=first.name[0] + person.name[1:])
        return person

    def _party(self, person: Person, role: PartyRole, address: str) -> dict[str, Any]:
        # Some respondents never gave their ID number at the window.
        keep_id = role != PartyRole.RESPONDENT or self.rng.random() < 0.85
        return {
            "role": role,
            "name": person.name,
            "id_number": person.id_number if keep_id else "",
            "phone": person.phone,
            "address": address,
        }

    def _firm(self, name: str, role: PartyRole, county: County) -> dict[str, Any]:
        return {
            "role": role,
            "name": name,
            "id_number": "",
            "phone": self.people.landline(),
            "address": f"{county.name}{self.rng.choice(county.townships)[1]}",
        }

    def _route(self, plan: Plan) -> None:
        """分流转办 at the city and county centres, where the clerks have accounts."""
        rng, place, dtype = self.rng, plan.place, plan.dispute_type
        at = plan.registered_at + dt.timedelta(minutes=rng.randint(10, 120))
        if place.centre.kind == OrgKind.CITY:
            if rng.random() < 0.55:
                area = self._choose([(c, AREA_WEIGHTS[c.code]) for c in COUNTIES])
                handler = self.places[area.code]
                plan.handler = handler
                self._routing(
                    plan, at, "centre", handler.centre, f"属地管理，转{handler.centre.name}办理"
                )
            return
        if place.centre.kind != OrgKind.COUNTY or place.county is None:
            return
        county = place.county
        if dtype in county.rooms and rng.random() < 0.55:
            room = self.orgs[room_code(county.code, dtype)]
            self._routing(plan, at, "room", room, f"{TYPE_NAMES[dtype]}纠纷，转{room.name}专业调解")
            return
        personal = [self.orgs[code] for code, _, parent in PERSONAL_ROOMS if parent == county.code]
        personal_types = (
            DisputeType.NEIGHBOUR,
            DisputeType.MARRIAGE_FAMILY,
            DisputeType.LAND,
            DisputeType.LAND_CONTRACT,
            DisputeType.OTHER,
        )
        if personal and dtype in personal_types and rng.random() < 0.35:
            room = personal[0] if len(personal) == 1 or rng.random() < 0.6 else personal[1]
            self._routing(plan, at, "room", room, f"当事人信任，申请由{room.name}调解")
            return
        departments = {
            DisputeType.LABOUR: ("RS", 0.3, "涉及拖欠劳动报酬，转{to}依法处理"),
            DisputeType.PROPERTY_MANAGEMENT: ("ZJ", 0.3, "涉及物业服务监管，转{to}督促处理"),
            DisputeType.LAND: ("SF", 0.05, "涉及法律政策解释，转{to}协助调处"),
        }
        if dtype in departments:
            suffix, share, reason = departments[dtype]
            if rng.random() < share:
                dept = self.orgs[department_code(county.code, suffix)]
                self._routing(plan, at, "department", dept, reason.format(to=dept.name))
                return
        if dtype in (DisputeType.OTHER, DisputeType.ROAD_TRAFFIC) and rng.random() < 0.06:
            court = self.orgs[court_code(county.code)]
            self._routing(plan, at, "court", court, f"当事人申请诉前调解，转{court.name}诉调对接")

    def _routing(
        self, plan: Plan, at: dt.datetime, target: str, to: Organisation, reason: str
    ) -> None:
        from_centre = plan.handler.centre if target != "centre" else plan.place.centre
        if target == "room":
            plan.room = to
        elif target == "department":
            plan.department = to
        elif target == "court":
            plan.court = to
        plan.routing = {
            "at": at,
            "by_id": plan.place.clerk.staff_id,
            "from_centre_id": from_centre.id,
            "to_org_id": to.id,
            "to_mediator_id": None,
            "lane": plan.lane,
            "reason": reason,
        }
        plan.events.append(
            (
                at,
                "routed",
                plan.place.clerk,
                {
                    "target": target,
                    "to": to.name,
                    "to_code": to.code,
                    "reason": reason,
                    "lane": plan.lane.value,
                },
            )
        )

    def _settle(self, plan: Plan) -> None:
        """Mediation and closure within (mostly) the time limit, never after 30 June."""
        rng = self.rng
        days = self.deadline_days[(plan.lane, plan.dispute_type)]
        plan.deadline_on = plan.accepted_on + dt.timedelta(days=days)
        if plan.room is not None:
            plan.mediator = self.actor_at(plan.room, "mediator")
        else:
            plan.mediator = plan.handler.mediator
        start = plan.routing["at"] if plan.routing else plan.registered_at
        if plan.lane == Lane.FAST and plan.outcome == Outcome.MEDIATED:
            # 马上办: most simple disputes are settled the same day.
            offset = self._choose([(0, 0.6), (1, 0.25), (2, 0.1), (3, 0.05)])
        else:
            offset = rng.randint(2, max(3, int(days * 0.9)))
            if rng.random() < 0.03:
                offset = days + rng.randint(1, 10)  # a few overran their deadline
            plan.events.append(
                (self._later(start, 30, 600), "mediation_started", plan.mediator, {})
            )
        last = dt.datetime.combine(LAST_DAY, dt.time(17, 30), self.tz).astimezone(dt.UTC)
        if offset == 0:
            closed_at = self._later(start, 20, 200)
        else:
            closed_at = self._office_time(self._local_date(start) + dt.timedelta(days=offset))
        if closed_at > last:
            closed_at = last - dt.timedelta(minutes=rng.randint(0, 240))
        closed_at = max(closed_at, start + dt.timedelta(minutes=15))
        for index, event in enumerate(plan.events):
            if event[0] >= closed_at:  # mediation started no later than closure
                plan.events[index] = (closed_at - dt.timedelta(minutes=5), *event[1:])
        plan.closed_at = closed_at
        if rng.random() < 0.95:
            plan.feedback_at = self._later(closed_at, 5, 600)

    def _supervise(self, plan: Plan) -> None:
        """督办: a supervisor chases a case the day after its time limit ran out."""
        day = plan.deadline_on + dt.timedelta(days=1)
        at = self._office_time(day)
        if at >= plan.closed_at - dt.timedelta(hours=1):
            return
        county = plan.handler.county
        supervisor = (county and self._account(county.code, Role.SUPERVISOR)) or self._account(
            CITY, Role.SUPERVISOR
        )
        if supervisor is None:
            return
        respond_by = day + dt.timedelta(days=3)
        centre = plan.handler.centre.name
        note = f"已超过办理时限，请{centre}加快调处，于{_chinese_date(respond_by)}前报告进展。"
        plan.supervision = {
            "at": at,
            "by_id": supervisor.staff_id,
            "note": note,
            "respond_by": respond_by,
        }
        plan.events.append(
            (
                at,
                "supervised",
                supervisor,
                {"note": note, "respond_by": respond_by.isoformat(), "overdue": True},
            )
        )

    def _aftercare(self, plan: Plan) -> None:
        """Ratings through the parties' links, and follow-up visits by centres with accounts."""
        rng = self.rng
        mediated = plan.outcome == Outcome.MEDIATED
        base = plan.feedback_at or plan.closed_at
        scores = RATING_SCORES if mediated else RATING_SCORES_NOT_MEDIATED
        rated = [i for i, p in enumerate(plan.parties) if p["role"] != PartyRole.AGENT]
        if rng.random() < (0.6 if mediated else 0.4):
            raters = rated[:1] + [i for i in rated[1:] if rng.random() < 0.25]
            for index in raters:
                score = self._choose(list(scores))
                comment = rng.choice(RATING_COMMENTS[score])
                # Through their link, at waking hours within a few days.
                day = self._local_date(base) + dt.timedelta(days=rng.randint(0, 4))
                local = dt.datetime.combine(day, dt.time(7, 30), self.tz)
                at = local + dt.timedelta(minutes=rng.randint(0, 14 * 60))
                at = max(at.astimezone(dt.UTC), base + dt.timedelta(minutes=30))
                plan.ratings.append((index, score, comment, at))
        clerk = plan.handler.clerk
        if mediated and clerk.staff_id is not None and rng.random() < 0.25:
            mediator = plan.mediator
            assignee = mediator if mediator is not None and mediator.staff_id is not None else clerk
            closed_on = self._local_date(plan.closed_at)
            due_on = closed_on + dt.timedelta(days=rng.randint(15, 45))
            scheduled_at = self._later(base, 5, 120)
            visited = self._office_time(due_on + dt.timedelta(days=rng.randint(-2, 3)))
            visited = max(visited, scheduled_at + dt.timedelta(days=1))
            result = self._choose(list(FOLLOW_UP_RESULTS))
            note = rng.choice(FOLLOW_UP_NOTES[result])
            plan.follow_up = Visit(due_on, clerk, assignee, scheduled_at, visited, result, note)

    def _fill_texts(self, plan: Plan) -> None:
        rng, t = self.rng, plan.template
        applicants = [p for p in plan.parties if p["role"] == PartyRole.APPLICANT]
        respondent = next(p for p in plan.parties if p["role"] == PartyRole.RESPONDENT)
        a, b = applicants[0]["name"], respondent["name"]
        county = plan.place.county or COUNTIES[0]
        low, high = t.amount if t.amount != (0, 0) else (1_000, 10_000)
        amount = rng.randint(low // t.round_to, high // t.round_to) * t.round_to
        part_round = max(100, t.round_to // 10)
        place = plan.place
        if place.urban:
            where = f"{county.name}{rng.choice(ESTATES)}"
        else:
            where = place.village or self.people.village()
        values = {
            "a": a,
            "b": b,
            "county": county.name,
            "township": place.township or county.name,
            "place": where,
            "y": rng.randint(2012, 2021),
            "n": rng.randint(2, 5),
            "mu": rng.randint(3, 40),
            "amt": amount,
            "part": int(amount * rng.uniform(0.6, 0.95)) // part_round * part_round,
            "days": rng.randint(7, 60),
            "date": _chinese_date(plan.accepted_on + dt.timedelta(days=rng.randint(10, 60))),
            "wage": rng.randint(15, 28) * 10,
            "monthly": rng.randint(3, 15) * 100,
            "rent": rng.randint(30, 80) * 10,
            "sheep": rng.randint(2, 12) * 10,
            "age": 2022 - int(applicants[0]["id_number"][6:10])
            if applicants[0]["id_number"]
            else 78,
            "cm": rng.randint(15, 80),
            "project": rng.choice(PROJECTS),
            "farm": rng.choice(FARMS),
            "road": rng.choice(ROADS),
            "vehicle": rng.choice(VEHICLES),
            "disease": rng.choice(DISEASES),
            "court": f"{county.name}人民法院",
        }
        if t.subject in ("机动车交通事故责任", "车辆刮擦"):
            values["date"] = _chinese_date(plan.accepted_on - dt.timedelta(days=rng.randint(3, 40)))
        group = f"等{len(applicants)}人" if len(applicants) > 1 else ""
        plan.title = f"{a}{group}与{b}{t.subject}纠纷"
        plan.facts = t.facts.format(**values)
        plan.claims = t.claims.format(**values)
        if plan.outcome == Outcome.MEDIATED:
            plan.outcome_note = t.agreement.format(**values)
            plan.feedback_note = rng.choice(FEEDBACK)
        else:
            assert plan.next_step is not None
            plan.outcome_note = NOT_MEDIATED[plan.next_step].format(**values)
            plan.feedback_note = rng.choice(FEEDBACK_NOT_MEDIATED)

    def _number(self, plans: list[Plan]) -> None:
        """Case numbers in order of registration, per numbering organisation."""
        for plan in sorted(plans, key=lambda p: p.registered_at):
            org = plan.place.county.code if plan.place.county else CITY
            self.last_numbers[org] += 1
            abbreviation = self.orgs[org].abbreviation
            plan.number = f"({YEAR}){abbreviation}综调字第{self.last_numbers[org]:04d}号"

    def _timeline(self, plan: Plan) -> None:
        events = plan.events
        applicant = plan.parties[0]
        if plan.submitted_at is not None:
            events.append(
                (
                    plan.submitted_at,
                    "submitted_online",
                    Actor(None, applicant["name"], applicant["name"]),
                    {"centre": plan.place.centre.code},
                )
            )
        registered = {
            "number": plan.number,
            "dispute_type": plan.dispute_type.value,
            "lane": plan.lane.value,
            "deadline_on": plan.deadline_on.isoformat(),
        }
        events.append((plan.registered_at, "registered", plan.place.clerk, registered))
        closed_on = self._local_date(plan.closed_at)
        events.append(
            (
                plan.closed_at,
                "closed",
                plan.mediator,
                {
                    "outcome": plan.outcome.value,
                    "next_step": plan.next_step.value if plan.next_step else None,
                    "note": plan.outcome_note,
                    "overdue": closed_on > plan.deadline_on,
                },
            )
        )
        if plan.feedback_at is not None:
            events.append(
                (plan.feedback_at, "feedback_given", plan.mediator, {"note": plan.feedback_note})
            )
        for index, score, comment, at in plan.ratings:
            name = plan.parties[index]["name"]
            events.append(
                (at, "rated", Actor(None, name, name), {"score": score, "comment": comment})
            )
        events.sort(key=lambda e: e[0])

    # ---- writing ------------------------------------------------------------------------------

    async def write(self, db: AsyncSession, plans: list[Plan]) -> None:
        """Insert the cases and everything that hangs off them.

        Rows are sent in batches (executemany). Ids of cases, parties and follow-ups are given
        here rather than returned, because SQLite can only return them row by row.
        """
        case_ids = await _next_ids(db, Case, len(plans))
        await _insert(
            db, Case, [self._case_row(p) | {"id": i} for p, i in zip(plans, case_ids, strict=True)]
        )
        party_rows: list[dict[str, Any]] = []
        party_id: dict[tuple[int, int], int] = {}
        next_party = (await _next_ids(db, Party, 1))[0]
        for plan, case_id in zip(plans, case_ids, strict=True):
            for index, party in enumerate(plan.parties):
                party_id[(case_id, index)] = next_party
                represents = party.get("represents")
                party_rows.append(
                    {
                        "id": next_party,
                        "case_id": case_id,
                        "role": party["role"],
                        "represents_id": None
                        if represents is None
                        else party_id[(case_id, represents)],
                        "name": party["name"],
                        "id_number": party["id_number"],
                        "phone": party["phone"],
                        "address": party["address"],
                        # A personal link like the workflow's; the token itself is never kept.
                        "link_token_hash": token_hash(new_token()),
                    }
                )
                next_party += 1
        await _insert(db, Party, party_rows)
        await _insert(
            db,
            Routing,
            [
                {"case_id": case_id, **plan.routing}
                for plan, case_id in zip(plans, case_ids, strict=True)
                if plan.routing is not None
            ],
        )
        await _insert(
            db,
            Supervision,
            [
                {"case_id": case_id, **plan.supervision}
                for plan, case_id in zip(plans, case_ids, strict=True)
                if plan.supervision is not None
            ],
        )
        await _insert(
            db,
            Rating,
            [
                {
                    "case_id": case_id,
                    "party_id": party_id[(case_id, index)],
                    "score": score,
                    "comment": comment,
                    "at": at,
                }
                for plan, case_id in zip(plans, case_ids, strict=True)
                for index, score, comment, at in plan.ratings
            ],
        )
        visits = [(p.follow_up, c) for p, c in zip(plans, case_ids, strict=True) if p.follow_up]
        follow_up_ids = await _next_ids(db, FollowUp, len(visits))
        await _insert(
            db,
            FollowUp,
            [
                {
                    "id": follow_up_id,
                    "case_id": case_id,
                    "due_on": visit.due_on,
                    "scheduled_by_id": visit.scheduler.staff_id,
                    "assignee_id": visit.assignee.staff_id,
                    "visited_at": visit.visited_at,
                    "result": visit.result,
                    "note": visit.note,
                }
                for (visit, case_id), follow_up_id in zip(visits, follow_up_ids, strict=True)
            ],
        )
        extra: dict[int, list[Event]] = {}
        for (visit, case_id), follow_up_id in zip(visits, follow_up_ids, strict=True):
            extra[case_id] = [
                (
                    visit.scheduled_at,
                    "follow_up_scheduled",
                    visit.scheduler,
                    {
                        "follow_up_id": follow_up_id,
                        "due_on": visit.due_on.isoformat(),
                        "assignee": visit.assignee.name,
                    },
                ),
                (
                    visit.visited_at,
                    "follow_up_done",
                    visit.assignee,
                    {
                        "follow_up_id": follow_up_id,
                        "result": visit.result.value,
                        "note": visit.note,
                    },
                ),
            ]
        events = [
            (at, case_id, order, kind, actor, detail)
            for plan, case_id in zip(plans, case_ids, strict=True)
            for order, (at, kind, actor, detail) in enumerate(plan.events + extra.get(case_id, []))
        ]
        # Timelines are read in id order: insert every event in the order it happened.
        events.sort(key=lambda e: (e[0], e[1], e[2]))
        await _insert(
            db,
            CaseEvent,
            [
                {
                    "case_id": case_id,
                    "at": at,
                    "kind": kind,
                    "actor_id": actor.staff_id if actor else None,
                    "actor_label": (actor.label if actor else ""),
                    "detail": detail,
                }
                for at, case_id, _, kind, actor, detail in events
            ],
        )
        for model in (Case, Party, FollowUp):
            await _sync_sequence(db, model)
        await self._counters(db)

    def _case_row(self, plan: Plan) -> dict[str, Any]:
        mediator_id = plan.mediator.staff_id if plan.mediator else None
        if mediator_id not in self.mediator_ids:
            mediator_id = None  # a supervisor who mediated is not the case's mediator
        return {
            "number": plan.number,
            "status": CaseStatus.CLOSED,
            "channel": plan.channel,
            "dispute_type": plan.dispute_type,
            "lane": plan.lane,
            "title": plan.title,
            "facts": plan.facts,
            "claims": plan.claims,
            "centre_id": plan.handler.centre.id,
            "scope_path": plan.handler.centre.path,
            "room_id": plan.room.id if plan.room else None,
            "department_id": plan.department.id if plan.department else None,
            "court_id": plan.court.id if plan.court else None,
            "mediator_id": mediator_id,
            "first_receiver_id": plan.place.clerk.staff_id,
            "accepted_on": plan.accepted_on,
            "accepted_at": plan.accepted_at,
            "registered_at": plan.registered_at,
            "deadline_on": plan.deadline_on,
            "closed_at": plan.closed_at,
            "closed_on": self._local_date(plan.closed_at),
            "outcome": plan.outcome,
            "next_step": plan.next_step,
            "outcome_note": plan.outcome_note,
            "feedback_at": plan.feedback_at,
            "feedback_note": plan.feedback_note if plan.feedback_at else "",
        }

    async def _counters(self, db: AsyncSession) -> None:
        """Leave each numbering organisation's 2022 counter at its last number, so that later
        registrations continue the sequence."""
        for code, last in self.last_numbers.items():
            org_id = self.orgs[code].id
            counter = await db.get(CaseNumberCounter, (org_id, YEAR))
            if counter is None:
                db.add(CaseNumberCounter(org_id=org_id, year=YEAR, last=last))
            else:
                counter.last = max(counter.last, last)
        await db.flush()


async def _next_ids(
    db: AsyncSession, model: type[Case | Party | FollowUp], count: int
) -> list[int]:
    start = int(await db.scalar(select(func.max(model.id))) or 0)
    return list(range(start + 1, start + 1 + count))


async def _insert(db: AsyncSession, model: type[Base], rows: list[dict[str, Any]]) -> None:
    if rows:
        await db.execute(insert(model.metadata.tables[model.__tablename__]), rows)


async def _sync_sequence(db: AsyncSession, model: type[Case | Party | FollowUp]) -> None:
    """Move PostgreSQL's id sequence past ids given explicitly (SQLite needs nothing)."""
    if db.get_bind().dialect.name == "postgresql":
        table = model.__tablename__
        await db.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608 (a model's own table name)
                f"(SELECT max(id) FROM {table}))"
            )
        )


def _chinese_date(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


async def numbers_taken(db: AsyncSession, orgs: dict[str, Organisation]) -> dict[str, int]:
    """The last 2022 number each numbering organisation (city, counties) has given."""
    codes = [CITY, *(c.code for c in COUNTIES)]
    by_id = {orgs[code].id: code for code in codes}
    rows = await db.execute(
        select(CaseNumberCounter.org_id, CaseNumberCounter.last).where(
            CaseNumberCounter.year == YEAR, CaseNumberCounter.org_id.in_(by_id)
        )
    )
    return {by_id[org_id]: last for org_id, last in rows.all()}


async def deadline_table(db: AsyncSession) -> dict[tuple[Lane, DisputeType], int]:
    """Days allowed per lane and type, from the centre's current rules."""
    return {
        (lane, dtype): await days_allowed(db, lane, dtype.value)
        for lane in Lane
        for dtype in DisputeType
    }
