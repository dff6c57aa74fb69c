"""Drives a real Django against the test database for the interop test.

Usage: porter_django.py <command> <json-argument>; prints one JSON document.
Settings come from the environment (see porter_django_settings.py).
"""
import json
import sys

import django

django.setup()

from django.contrib.auth import get_user, login  # noqa: E402
from django.contrib.auth.hashers import make_password  # noqa: E402
from django.contrib.auth.models import User  # noqa: E402
from django.contrib.sessions.backends.db import SessionStore  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import RequestFactory  # noqa: E402

BACKEND = "django.contrib.auth.backends.ModelBackend"


def migrate(_):
    call_command("migrate", verbosity=0, interactive=False)
    return {"ok": True}


def load(arg):
    store = SessionStore(session_key=arg["key"])
    data = store.load()
    # load() resets the key when no row (or no valid row) was found.
    return {"found": store.session_key is not None, "data": data}


def create(arg):
    store = SessionStore()
    store.update(arg["data"])
    store.save()
    return {"key": store.session_key, "expiry_age": store.get_expiry_age()}


def password(arg):
    return {"hash": make_password(arg["password"])}


def log_in(arg):
    user = User.objects.create(id=int(arg["id"]), username=arg["username"], password=arg["hash"])
    request = RequestFactory().get("/")
    request.session = SessionStore()
    request.session.update(arg.get("data", {}))
    login(request, user, backend=BACKEND)
    request.session.save()
    return {"key": request.session.session_key, "session": dict(request.session.items())}


def whoami(arg):
    request = RequestFactory().get("/")
    request.session = SessionStore(session_key=arg["key"])
    user = get_user(request)
    return {"authenticated": user.is_authenticated, "id": str(user.pk) if user.is_authenticated else None}


COMMANDS = {"migrate": migrate, "load": load, "create": create, "password": password, "login": log_in, "whoami": whoami}

if __name__ == "__main__":
    result = COMMANDS[sys.argv[1]](json.loads(sys.argv[2]) if len(sys.argv) > 2 else {})
    sys.stdout.write(json.dumps(result, ensure_ascii=True))
