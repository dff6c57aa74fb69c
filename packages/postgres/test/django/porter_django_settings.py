"""Minimal Django settings for the interop test: sessions and auth on the test's PostgreSQL schema."""
import os

SECRET_KEY = os.environ["PORTER_DJANGO_SECRET"]
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "django.contrib.sessions"]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "HOST": os.environ["PORTER_PGHOST"],
        "PORT": os.environ["PORTER_PGPORT"],
        "NAME": os.environ["PORTER_PGDATABASE"],
        "USER": os.environ["PORTER_PGUSER"],
        "PASSWORD": os.environ.get("PORTER_PGPASSWORD", ""),
        "OPTIONS": {"options": "-c search_path=" + os.environ["PORTER_PGSCHEMA"]},
    }
}
USE_TZ = True
TIME_ZONE = "UTC"
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
SESSION_ENGINE = "django.contrib.sessions.backends.db"
