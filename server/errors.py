"""Typed errors. Views raise these; ``server.middleware.errors`` maps them to responses.

Each carries a message key from the translation catalogues (``server/i18n.py``) so the person
reads it in their own language, plus optional per-field messages for forms.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class FieldError:
    """One field's problem: a message key and its parameters."""

    key: str
    params: dict[str, Any] = field(default_factory=dict)


class BilinError(Exception):
    """Base of errors that a user may see."""

    status = 400
    key = "error.bad_request"

    def __init__(
        self,
        key: str | None = None,
        *,
        fields: dict[str, FieldError] | None = None,
        **params: Any,
    ) -> None:
        self.key = key or self.key
        self.fields = fields or {}
        self.params = params
        super().__init__(self.key)


class NotFound(BilinError):
    """Missing, or out of the caller's scope: the two are answered identically on purpose."""

    status = 404
    key = "error.not_found"


class Unauthenticated(BilinError):
    """No valid session."""

    status = 401
    key = "error.login_required"


class Forbidden(BilinError):
    """In scope, but the caller's role may not do this."""

    status = 403
    key = "error.forbidden"


class CsrfFailed(BilinError):
    """A state-changing request without the session's CSRF token."""

    status = 403
    key = "error.csrf"


class InvalidInput(BilinError):
    """The request body or form failed validation."""

    status = 422
    key = "error.invalid_input"


class Conflict(BilinError):
    """The action does not fit the case's current state (e.g. closing a closed case)."""

    status = 409
    key = "error.conflict"


class RateLimited(BilinError):
    """Too many attempts; try again later."""

    status = 429
    key = "error.rate_limited"


class PayloadTooLarge(BilinError):
    """The request body is larger than any legitimate one."""

    status = 413
    key = "error.too_large"
