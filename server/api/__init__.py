"""The JSON API: every operation declared once with its pydantic models (see ``registry``)."""
