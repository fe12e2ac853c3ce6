"""Words of judicial confirmation (司法确认)."""

from __future__ import annotations

from enum import StrEnum

APPLY_WITHIN_DAYS = 30  # joint application within 30 days of the agreement taking effect
DECIDE_WITHIN_DAYS = 15  # the court decides within 15 days of accepting the application
EXTENSION_DAYS = 10  # extendable once by 10 days (with the court president's approval)


class ApplicationStatus(StrEnum):
    """Where a joint application stands."""

    AWAITING_PARTIES = "awaiting_parties"  # proposed; not every party has confirmed yet
    FILED = "filed"  # every party confirmed; with the court
    CONFIRMED = "confirmed"  # the court ruled the agreement valid
    REJECTED = "rejected"  # the court rejected the application


class Decision(StrEnum):
    """The court's decision."""

    CONFIRM = "confirm"
    REJECT = "reject"
