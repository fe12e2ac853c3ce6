"""Login and the current user."""

from __future__ import annotations

from pydantic import BaseModel, Field

from server.validation import Body
from server.vocabulary import Role


class LoginRequest(Body):
    """``POST /api/login``."""

    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class Me(BaseModel):
    """The logged-in staff member."""

    id: int
    username: str
    display_name: str
    role: Role
    org_code: str
    org_name: str


class LoginResponse(BaseModel):
    """A successful login: who, and the CSRF token to send as ``X-CSRF-Token``."""

    me: Me
    csrf_token: str
