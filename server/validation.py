"""Validate untrusted input with pydantic and turn failures into per-field, translatable errors."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator

from server.errors import FieldError, InvalidInput

M = TypeVar("M", bound=BaseModel)

_ERROR_KEYS: dict[str, str] = {
    "missing": "field.required",
    "string_too_long": "field.too_long",
    "string_too_short": "field.too_short",
    # Lists (and other collections): "at most N items", not characters.
    "too_long": "field.too_many",
    "too_short": "field.too_few",
    "enum": "field.invalid_choice",
    "literal_error": "field.invalid_choice",
    "extra_forbidden": "field.unknown",
    "date_from_datetime_parsing": "field.invalid_date",
    "date_parsing": "field.invalid_date",
    "date_type": "field.invalid_date",
    "greater_than_equal": "field.out_of_range",
    "less_than_equal": "field.out_of_range",
    "greater_than": "field.out_of_range",
    "less_than": "field.out_of_range",
}


# Control characters (other than tab and line breaks) and lone surrogates: PostgreSQL refuses
# NUL in text and neither database can store a lone surrogate, so they would fail deep in the
# database instead of as a field error; the others have no business in a form either.
_BAD_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def _refuse_bad_characters(value: Any) -> None:
    if isinstance(value, str):
        if _BAD_CHARACTERS.search(value):
            raise ValueError("field.invalid_characters")
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            _refuse_bad_characters(item)


class Body(BaseModel):
    """Base of every request body: unknown fields are refused, strings are stripped, and
    strings with control characters are refused."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="after")
    @classmethod
    def _printable_text(cls, value: Any) -> Any:
        _refuse_bad_characters(value)
        return value


def parse(model: type[M], data: Any) -> M:
    """``model`` validated from ``data``, or :class:`InvalidInput` naming each bad field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput(fields=field_errors(exc)) from None


def field_errors(exc: ValidationError) -> dict[str, FieldError]:
    """Pydantic's errors as ``{"parties.0.name": FieldError(...)}``, first error per field."""
    fields: dict[str, FieldError] = {}
    for error in exc.errors():
        loc = ".".join(str(part) for part in error["loc"]) or "body"
        if loc in fields:
            continue
        kind = error["type"]
        ctx = error.get("ctx") or {}
        key = _ERROR_KEYS.get(kind, "field.invalid_type")
        params: dict[str, Any] = {}
        if key in ("field.too_long", "field.too_many"):
            params["max"] = ctx.get("max_length", "")
        elif key in ("field.too_short", "field.too_few"):
            params["min"] = ctx.get("min_length", "")
        if kind == "value_error" and isinstance(ctx.get("error"), ValueError):
            message = str(ctx["error"])
            key = message if message.startswith("field.") else "field.invalid"
        fields[loc] = FieldError(key, params)
    return fields


_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_ID_PATTERN = re.compile(r"^\d{17}[\dX]$")


def id_number_check_digit(first17: str) -> str:
    """The GB 11643 check character for the first 17 digits of a resident ID number."""
    return _ID_CHECK[sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True)) % 11]


def _valid_id_number(value: str) -> str:
    value = value.upper()
    if not value:
        return value
    if not _ID_PATTERN.match(value) or id_number_check_digit(value[:17]) != value[17]:
        raise ValueError("field.invalid_id_number")
    try:
        dt.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        raise ValueError("field.invalid_id_number") from None
    return value


IdNumber = Annotated[str, Field(max_length=18), AfterValidator(_valid_id_number)]
"""A PRC resident ID number (18 characters, checksum verified), or empty."""

DbId = Annotated[int, Field(ge=1, le=2**31 - 1)]
"""A row id sent by a client: bounded, so an absurd number is a field error, not a database one."""

Phone = Annotated[str, Field(max_length=32, pattern=r"^[0-9+\- ]*$")]
ShortText = Annotated[str, Field(min_length=1, max_length=200)]
LongText = Annotated[str, Field(max_length=10_000)]


def mask_id_number(value: str) -> str:
    """Show only the first 3 and last 4 characters of an ID number."""
    if len(value) <= 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def mask_phone(value: str) -> str:
    """Show only the first 3 and last 4 digits of a phone number."""
    digits = value.strip()
    if len(digits) <= 7:
        return digits
    return digits[:3] + "****" + digits[-4:]
