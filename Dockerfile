# citebot: answers questions from the documents in sources/ with quoted, cited passages.
#
#   docker build -t citebot .
#   docker run --rm citebot ask "Does the AI Alliance think SB 1047 is balanced?"
#   docker run --rm -v "$PWD/my-docs:/app/sources:ro" citebot ask "..."   # your own documents
#
# BASE_IMAGE is any image with python3 >= 3.11 and pip; TORCH_INDEX_URL picks where the CPU
# build of torch comes from (a local /opt/wheels folder mounted at build time also works).
ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE}

ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    CITEBOT_SOURCES=/app/sources \
    CITEBOT_INDEX_DIR=/app/data/index \
    PATH=/opt/venv/bin:$PATH

WORKDIR /app
RUN python3 -m venv /opt/venv
# torch first, pinned to the CPU build, so nothing later pulls the CUDA one.
RUN if [ -d /opt/wheels ]; then set -- --find-links /opt/wheels; \
    else set -- --index-url "$TORCH_INDEX_URL" --extra-index-url https://pypi.org/simple; fi; \
    pip install "$@" "torch==2.13.0"
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY index ./index
COPY ingest ./ingest
RUN pip install ".[slack,discord]"
COPY sources ./sources

RUN useradd --create-home --uid 10001 citebot && mkdir -p /app/data && chown citebot /app/data
USER citebot
# Build the index now so the first question is answered at once.
RUN citebot ingest

ENTRYPOINT ["citebot"]
CMD ["--help"]
