# The Provenance API: `provenance serve` by default; `provenance migrate` and `provenance seed` run
# from the same image (see docker-compose.yml). Set DATABASE_URL when running it.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# The locked runtime dependencies first (not the dev ones): this layer is rebuilt only when the
# lock changes, not on every edit of the code.
COPY requirements.lock ./
RUN pip install -r requirements.lock

COPY pyproject.toml README.md alembic.ini ./
COPY service/ service/
COPY alembic/ alembic/
COPY seeds/ seeds/
# The attribution model POST /extract reads with (service/extraction/tagger.py finds it beside the package).
COPY models/ models/
# Editable, from /app: service/migrations.py and service/seeds.py find alembic/ and seeds/ beside
# the package's folder, so the package must be imported from /app/service, not site-packages.
RUN pip install --no-deps -e .

RUN useradd --system --create-home --uid 10001 provenance \
    && mkdir -p /var/lib/provenance \
    && chown provenance /var/lib/provenance
USER provenance
# Only used when DATABASE_URL is unset: where the embedded PostgreSQL would keep its data.
ENV PROVENANCE_DATA_DIR=/var/lib/provenance

EXPOSE 8000
CMD ["provenance", "serve", "--host", "0.0.0.0", "--port", "8000"]
