# The one image for every process type: web (gunicorn), worker and scheduler (flask worker), and
# the release step (flask setup-db). See docs/deployment.md.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    FLASK_APP=app:create_app \
    CAAS_ENV=production \
    PORT=8000

# WeasyPrint (invoice and statement PDFs) renders through Pango; fonts for the PDFs.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 \
        fonts-dejavu-core \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt
COPY . .

# Not root. instance/ holds uploads and mail files when no volume is mounted there.
RUN useradd --system --uid 10001 --home-dir /app caas \
 && mkdir -p instance/uploads instance/mail && chown -R caas instance
USER 10001

EXPOSE 8000
CMD ["gunicorn", "-c", "deploy/gunicorn.conf.py", "app:create_app()"]
