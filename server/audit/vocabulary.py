"""What the audit log records: actions and the kinds of object they touch."""

from __future__ import annotations

from enum import StrEnum


class AuditAction(StrEnum):
    """An audited act (stored as its value; display names in ``web/i18n/*/review.json``)."""

    PLAYBACK = "playback"  # the first media fetch of one review-page view
    DOWNLOAD = "download"  # a segment file saved as a file
    EXPORT = "export"  # an evidence package built or fetched
    RELEASE = "release"  # a caucus room released to the court
    VERIFY = "verify"  # a recording's seal checked
    VIEW_MANIFEST = "view_manifest"


class AuditObject(StrEnum):
    """What an audited act was done to."""

    SESSION = "session"
    SEGMENT = "segment"
    EXPORT = "export"
    DOCUMENT = "document"
