# campaign-bot: the HTTP server (`campaign-bot serve`) on port 3000.
# Build: docker build -t campaign-bot:<version> .
# tests/test_deploy_dockerfile.py keeps the base, the user, the entry point and the health check
# as described here.
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

# GET /healthz on the bot's port (PORT, 3000 unless set): 200 while this replica reaches Redis,
# 503 when it does not, which urlopen raises on. The slim image has no curl, hence Python.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(f\"http://127.0.0.1:{os.environ.get('PORT', '3000')}/healthz\", timeout=4)"]

# The console script; arguments after the image name replace `serve`.
ENTRYPOINT ["campaign-bot"]
CMD ["serve"]
