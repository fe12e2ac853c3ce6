"""The centre's case workflow, one module per step (统一受理 … 定期回访).

Each step takes the acting principal from the server-side session, checks scope and role,
changes the case, appends to its timeline, and leaves committing to the caller, so one request
is one transaction: nothing is ever half-saved.
"""
