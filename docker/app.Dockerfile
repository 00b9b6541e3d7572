# The CityAI application image: web (gunicorn), Celery worker and beat run from it.
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
RUN apt-get update && apt-get install -y --no-install-recommends fonts-wqy-zenhei curl \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY cityai cityai
COPY services services
RUN pip install --no-cache-dir .
COPY . .
RUN DJANGO_SECRET_KEY=build python manage.py collectstatic --noinput -v0
RUN useradd --system --uid 1000 cityai && mkdir -p /app/var && chown -R cityai /app/var
USER cityai
EXPOSE 8000
CMD ["gunicorn", "cityai.wsgi:application", "--bind", "0.0.0.0:8000", "--worker-class", "gthread", \
     "--workers", "4", "--threads", "8", "--timeout", "60"]
