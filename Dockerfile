# campaign-bot: the HTTP server (`campaign-bot serve`) on port 3000.
# Build: docker build -t campaign-bot:<version> .
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY commands ./commands
COPY dialer ./dialer
COPY state ./state
RUN pip install . && rm -rf /app/build

# A fixed numeric id, so Kubernetes' runAsNonRoot can verify it without a passwd lookup.
RUN useradd --uid 10001 --no-create-home --shell /usr/sbin/nologin campaign-bot
USER 10001

EXPOSE 3000
CMD ["campaign-bot", "serve"]
