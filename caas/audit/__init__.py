"""Audit: an append-only record of every privileged action."""
