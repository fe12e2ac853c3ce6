"""``GET /api/stats``: placeholder until built."""

from __future__ import annotations
