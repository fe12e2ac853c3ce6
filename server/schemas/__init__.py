"""Pydantic models for every request body and API response (also the OpenAPI document)."""
