"""Documents made from templates (the mediation record, the agreement, the joint application
for judicial confirmation, the court's ruling)."""

from __future__ import annotations

from enum import StrEnum


class DocumentKind(StrEnum):
    """What a document is."""

    MEDIATION_RECORD = "mediation_record"  # 调解笔录
    AGREEMENT = "agreement"  # 人民调解协议书
    CONFIRMATION_APPLICATION = "confirmation_application"  # 司法确认申请书
    RULING = "ruling"  # 民事裁定书


class DocumentStatus(StrEnum):
    """A document version's standing."""

    DRAFT = "draft"
    FINAL = "final"  # text frozen; may be signed
    SUPERSEDED = "superseded"  # a newer version replaced it; its signatures no longer count


class RecordStatus(StrEnum):
    """Where a hearing's mediation record stands."""

    EDITING = "editing"
    SIGNED_OFF = "signed_off"  # frozen by the mediator; the 调解笔录 document is issued
    CONFIRMED = "confirmed"  # every party confirmed it through their link
