"""Hearings (the live video sessions of issue 3): scheduling, invitation links, identity checks
and recording consent. One module per concern, in the style of ``server.workflow``: services take
the acting principal from the server-side session, check scope and role, and leave committing to
the caller.

A hearing "session" is called a ``Hearing`` in code, so it is never confused with a web session.
"""
