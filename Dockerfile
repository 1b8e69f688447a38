# The service image: the same package as `pip install .`, run as an unprivileged user.
# postgresql-client (15, as the db service) is there for `mch-service backup` / `restore`.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
RUN apt-get update && apt-get install -y --no-install-recommends postgresql-client \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY mch_service ./mch_service
COPY fhir_mappings ./fhir_mappings
COPY jobs ./jobs
COPY docs ./docs
RUN pip install --no-cache-dir . && useradd --system --home /app mch && chown -R mch /app
USER mch
EXPOSE 8000
# SIGTERM (docker stop) is a graceful stop: requests in flight finish, loops stop between rounds.
STOPSIGNAL SIGTERM
CMD ["mch-service", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
