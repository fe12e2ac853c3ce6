"""The audit log of recordings: who played, downloaded, exported, released or verified what.

Call :func:`server.audit.log.audit` inside the transaction of the act it records."""
