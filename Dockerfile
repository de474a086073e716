# Image of the coverage-ledger service, used by docker-compose.yml with a real PostgreSQL 18.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY src ./src
COPY migrations ./migrations
RUN pip install --no-cache-dir -e . && useradd --create-home ledger \
    && mkdir -p /var/lib/coverage-ledger/uploads /var/lib/coverage-ledger/backups && chown -R ledger /var/lib/coverage-ledger
USER ledger
ENV LEDGER_HOST=0.0.0.0 LEDGER_PORT=8000
EXPOSE 8000
CMD ["coverage-ledger", "serve"]
