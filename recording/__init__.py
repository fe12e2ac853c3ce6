"""Recordings: capture, integrity (hash chain, signed manifest), transcripts and export."""
