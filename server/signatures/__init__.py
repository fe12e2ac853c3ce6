"""Signatures on documents: capture, binding to the exact text, verification."""
