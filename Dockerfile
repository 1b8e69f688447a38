# The service image: the same package as `pip install .`, run as an unprivileged user.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY mch_service ./mch_service
COPY fhir_mappings ./fhir_mappings
COPY jobs ./jobs
COPY docs ./docs
RUN pip install --no-cache-dir . && useradd --system --home /app mch && chown -R mch /app
USER mch
EXPOSE 8000
CMD ["mch-service", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
