"""Several media workers: which worker holds which hearing's room (Redis, with heartbeats),
placement with admission control, and the live state a room is rebuilt from elsewhere."""
