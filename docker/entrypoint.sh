#!/bin/sh
# Bring the index in line with /app/sources (instant when nothing changed), then run citebot.
set -eu
case "${1:-}" in
  ingest|doctor|feedback|--help|-h) ;;
  *)
    if ! citebot ingest >&2; then
      echo "citebot: ingest failed; answering from the previous index (see the message above)" >&2
    fi
    ;;
esac
exec citebot "$@"
