"""Screening: sanctions lists and the name matcher.

Pure modules only (no Flask, no database): ``names`` normalises names, ``matcher`` scores two
names OFAC-style and searches an in-memory ``SanctionsIndex``, ``sdn`` parses OFAC's legacy
SDN/ALT CSV files, ``cli`` is the ``sanctions`` command group. See docs/scoring.md.
"""
