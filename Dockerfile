# The Track Management System as one image: gunicorn from gunicorn.conf.py,
# static files collected at build, run as an unprivileged user.
# Migrations are a release step, not part of starting a container:
#   docker run --rm --env-file production.env IMAGE python manage.py migrate --noinput
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HOST=0.0.0.0 \
    PORT=8000

WORKDIR /app

# Runtime requirements only: every one is pinned and ships a wheel, so the
# image needs no compiler and no test or lint tools.
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt

COPY . .

# collectstatic imports the settings, which refuse to load without a secret
# key; this one lives only in this build step and is never in the image's
# environment. The image has no .env (see .dockerignore).
RUN SECRET_KEY=collectstatic-only-not-a-secret \
    python manage.py collectstatic --noinput --verbosity 0

# The app's files stay root's and read-only to it; it writes only var/, where
# the disk cache lives when no REDIS_URL is set.
RUN useradd --system --uid 10001 --user-group --home-dir /app --shell /usr/sbin/nologin track \
    && mkdir -p /app/var \
    && chown track:track /app/var
USER 10001:10001

EXPOSE 8000

# Django answers only the names in ALLOWED_HOSTS, so the probe sends the first
# of them as its Host (a leading dot or "*" stands for any name).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; host = os.environ.get('ALLOWED_HOSTS', 'localhost').split(',')[0].strip().lstrip('.*') or 'localhost'; urllib.request.urlopen(urllib.request.Request('http://127.0.0.1:' + os.environ.get('PORT', '8000') + '/health/live', headers={'Host': host}), timeout=4)"]

CMD ["gunicorn", "-c", "gunicorn.conf.py"]
