# One image for web, workers and beat. PyPI's torch wheel for Linux carries CUDA, so the same
# image runs the CPU worker and the GPU worker (which gets the GPU through compose).
FROM python:3.11-slim AS base

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    DJANGO_SETTINGS_MODULE=config.settings.production \
    DATA_DIR=/data \
    STATIC_ROOT=/app/static

RUN apt-get update \
    && apt-get install -y --no-install-recommends nodejs npm \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY requirements.txt .
RUN pip install "$(grep -E '^torch==' requirements.txt)" && pip install -r requirements.txt

COPY frontend/package.json frontend/package-lock.json* frontend/
RUN if [ -f frontend/package.json ]; then cd frontend && npm ci --no-audit --no-fund; fi

COPY . .
RUN if [ -f frontend/package.json ]; then cd frontend && npm run build; fi \
    && SECRET_KEY=build-only-collectstatic-key-000000000000000000000000000000000000 \
       DATABASE_URL=sqlite:////tmp/build.sqlite3 python manage.py collectstatic --noinput \
    && useradd --create-home --uid 1000 app && mkdir -p /data && chown -R app /data
USER app

EXPOSE 8000
CMD ["gunicorn", "config.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--threads", "4"]
