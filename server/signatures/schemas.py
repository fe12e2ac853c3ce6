"""Request bodies for signing (what crosses the trust boundary from the browser)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from server.validation import Body

ID_TAIL_LENGTH = 6  # the screens show the last 4 of an ID number; two more are asked for


class SignRequest(Body):
    """A signature on the document version ``document_id``.

    ``method`` "drawn": ``signature_png`` is the pad's PNG (data URL). "typed" is the keyboard
    alternative: ``typed_name`` must repeat the signer's name and ``confirm`` be true.
    Parties also give ``full_name`` and ``id_tail`` (the last 6 characters of their ID number);
    staff sign as themselves.
    """

    document_id: int
    method: Literal["drawn", "typed"] = "drawn"
    signature_png: str = Field("", max_length=400_000)
    typed_name: str = Field("", max_length=100)
    confirm: bool = False
    full_name: str = Field("", max_length=100)
    id_tail: str = Field("", max_length=ID_TAIL_LENGTH)
