"""Issuing a document: fill the centre's (or the built-in) template, hash the content, add it
as the next version of the case's document of that kind."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from server.db import Case, Document, Organisation, Party, Staff
from server.documents.render import render_document
from server.documents.templates import TemplateDirs
from server.documents.versions import add_version
from server.documents.vocabulary import DocumentKind, DocumentStatus
from server.vocabulary import PartyRole

# How a party's role is written in the documents (the forms are Chinese whatever the reader's
# language: they are legal texts).
ROLE_LABELS = {
    PartyRole.APPLICANT: "申请人",
    PartyRole.RESPONDENT: "被申请人",
    PartyRole.AGENT: "代理人",
}


def party_entry(party: Party, *, sex: str = "") -> dict[str, Any]:
    """A party as the templates read it. The ID number is whole: the document must identify
    the party to the court (screens mask it; see :func:`render.masked_for_screen`)."""
    return {
        "id": party.id,
        "role": str(party.role),
        "role_label": ROLE_LABELS.get(party.role, str(party.role)),
        "name": party.name,
        "sex": sex,
        "id_number": party.id_number,
        "address": party.address,
        "phone": party.phone,
        "represents_id": party.represents_id,
    }


async def case_context(db: AsyncSession, case: Case, today: dt.date) -> dict[str, Any]:
    """What every template may use about the case: ``case``, ``centre``, ``mediator``,
    ``parties`` and ``issued_on`` (ISO date)."""
    centre = await db.get(Organisation, case.centre_id)
    mediator = await db.get(Staff, case.mediator_id) if case.mediator_id else None
    return {
        "case": {
            "id": case.id,
            "number": case.number or "",
            "title": case.title,
            "dispute_type": str(case.dispute_type or ""),
            "facts": case.facts,
            "claims": case.claims,
        },
        "centre": {"code": centre.code if centre else "", "name": centre.name if centre else ""},
        "mediator": {"name": mediator.display_name if mediator else ""},
        "parties": [party_entry(p) for p in case.parties],
        "issued_on": today.isoformat(),
    }


async def issue_document(
    db: AsyncSession,
    case: Case,
    kind: DocumentKind,
    data: dict[str, Any],
    *,
    created_by: int | None,
    template_dir: TemplateDirs,
    status: DocumentStatus = DocumentStatus.FINAL,
    hearing_id: int | None = None,
    today: dt.date | None = None,
) -> Document:
    """Render ``kind`` for ``case`` from the case's centre template (or the built-in one) with
    :func:`case_context` overlaid by ``data``, and add it as the next version (older versions
    become SUPERSEDED). A template that fails raises
    :class:`~server.documents.render.TemplateRefused` before anything is written.

    ``data`` keys per kind are listed in ``docs/documents.md``. The stored ``data`` is the
    whole template context, so a version can always be rendered again exactly."""
    context = await case_context(db, case, today or dt.date.today())
    # The case's own centre chooses the template, whatever ``data`` says about a centre.
    source = template_dir.source(kind, context["centre"]["code"] or None)
    context.update(data)
    content = render_document(source.text, context, label=source.label)
    return await add_version(
        db,
        case_id=case.id,
        kind=kind,
        status=status,
        template=source.label,
        data=context,
        content=content,
        created_by=created_by,
        hearing_id=hearing_id,
    )
