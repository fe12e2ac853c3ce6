"""Authentication: passwords, tokens, server-side sessions, CSRF and login rate limiting."""
