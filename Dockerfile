# citebot: answers questions from the documents in sources/ with quoted, cited passages.
#
# Build (BASE_IMAGE: any Debian-based image with python3 >= 3.11, venv and pip):
#   docker build -t citebot .
# Slack (Socket Mode):
#   docker run -d --name citebot-slack -e SLACK_BOT_TOKEN=xoxb-... -e SLACK_APP_TOKEN=xapp-... \
#     -v citebot-data:/app/data citebot slack
# Discord:
#   docker run -d --name citebot-discord -e DISCORD_TOKEN=... -v citebot-data:/app/data citebot discord
# Both in one process, your own documents mounted read-only (the index is rebuilt at start when
# they differ from the ones it was built from):
#   docker run -d --env-file .env -v "$PWD/docs:/app/sources:ro" -v citebot-data:/app/data citebot serve
# One question from the command line:
#   docker run --rm citebot ask "Does the AI Alliance think SB 1047 is balanced?"

ARG BASE_IMAGE=python:3.11-slim-bookworm

FROM ${BASE_IMAGE} AS build
# Where the CPU build of torch comes from when no local wheel folder is mounted at /opt/wheels.
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PATH=/opt/venv/bin:$PATH
RUN python3 -m venv /opt/venv
# torch first and pinned, so nothing later pulls the several-GB CUDA build.
RUN if ls /opt/wheels/torch-2.13.0* >/dev/null 2>&1; \
    then pip install --no-cache-dir --find-links /opt/wheels torch==2.13.0; \
    else pip install --no-cache-dir --index-url "$TORCH_INDEX_URL" torch==2.13.0; fi
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY index ./index
COPY ingest ./ingest
# pip compiles .pyc files as it installs; torch's C++ headers are only for building extensions.
# DL3013: this installs the project itself from its folder; pyproject.toml bounds the versions.
# hadolint ignore=DL3013
RUN pip install --no-cache-dir ".[slack,discord,llm]" \
    && rm -rf /opt/venv/lib/python3*/site-packages/torch/include

FROM ${BASE_IMAGE}
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    CITEBOT_SOURCES=/app/sources \
    CITEBOT_INDEX_DIR=/app/data/index \
    CITEBOT_DATA_DIR=/app/data
COPY --from=build /opt/venv /opt/venv
# /app/data/feedback exists so a volume mounted there (docker-compose.yml) is writable by citebot.
RUN useradd --create-home --uid 10001 citebot \
    && mkdir -p /app/data/feedback && chown -R citebot /app/data
WORKDIR /app
COPY sources ./sources
COPY docker/entrypoint.sh /usr/local/bin/citebot-entrypoint
USER 10001
# Build the index into the image, so the first question is answered at once.
RUN citebot ingest
VOLUME ["/app/data"]
# doctor reads files only (no model load): fails when the index or settings are broken.
HEALTHCHECK --interval=60s --timeout=20s --start-period=120s CMD ["citebot", "doctor"]
ENTRYPOINT ["citebot-entrypoint"]
CMD ["serve"]
