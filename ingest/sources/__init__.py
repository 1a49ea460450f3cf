"""Where documents come from besides the sources folder: sites and Git repositories.

Each kind syncs into a mirror folder (ingest/sources/mirror.py) that is ingested like any
folder; only files that changed are re-read and re-embedded.
"""
