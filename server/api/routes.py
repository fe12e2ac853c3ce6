"""The API's operation table, shared by the modules that declare operations."""

from __future__ import annotations

from server.api.registry import ApiRegistry

api = ApiRegistry()
