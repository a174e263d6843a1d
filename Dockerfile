FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 SOAR_VAR_DIR=/var/lib/soar
WORKDIR /app
# --- case report (issue 18): WeasyPrint lays out the report's PDF with Pango (and HarfBuzz,
# fontconfig, pulled in by it); DejaVu is the report's font.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
RUN useradd --system --home /var/lib/soar soar \
    && mkdir -p /var/lib/soar && chown soar /var/lib/soar \
    && python manage.py collectstatic --noinput --verbosity 0 \
    && chown -R soar /var/lib/soar
USER soar
EXPOSE 8000
CMD ["gunicorn", "-c", "deploy/gunicorn.conf.py", "soar.wsgi:application", "-b", "0.0.0.0:8000", "-w", "4", "--threads", "4", "--access-logfile", "-"]
