# auditbot's image: the service on Python 3.11, as a non-root user.
#
#   docker build -t auditbot .
#   docker run --rm -e AUDITBOT_DATABASE_URL=... auditbot auditbot db upgrade   # the migration job
#   docker run -p 3978:3978 -e AUDITBOT_DATABASE_URL=... -e AUDITBOT_APP_ID=... auditbot
#
# The service does not migrate (serve --no-migrate): run `auditbot db upgrade` as a job first,
# once per release (infra/main.bicep does, as a Container Apps job). Settings are environment
# variables (README, "Configuration"). tests/test_image.py runs this CMD and HEALTHCHECK, as
# an unprivileged user, in a fresh virtual environment built from the wheel.

FROM python:3.11-slim-bookworm AS wheels
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY cards ./cards
COPY dialogs ./dialogs
COPY manifest ./manifest
COPY scheduler ./scheduler
COPY storage ./storage
COPY telemetry ./telemetry
COPY workflow ./workflow
COPY workspace ./workspace
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim-bookworm
RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin auditbot
COPY --from=wheels /wheels /wheels
# Only the wheels built above, no index: the versions are those the build resolved.
# hadolint ignore=DL3013
RUN pip install --no-cache-dir --no-index --find-links /wheels auditbot && rm -rf /wheels
USER 10001
WORKDIR /home/auditbot
ENV AUDITBOT_HOST=0.0.0.0 \
    AUDITBOT_PORT=3978 \
    AUDITBOT_LOG_FORMAT=json \
    PYTHONUNBUFFERED=1
EXPOSE 3978
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(f\"http://127.0.0.1:{os.environ.get('AUDITBOT_PORT', '3978')}/healthz\", timeout=4)"]
CMD ["auditbot", "serve", "--no-migrate"]
