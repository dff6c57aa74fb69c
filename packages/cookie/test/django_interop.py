"""Reads a JSON request on stdin, answers with what real Django makes of Porter's cookies and
what it issues itself. Used by django-live.test.ts."""
import json
import sys
from unittest import mock

import django
from django.conf import settings

request = json.load(sys.stdin)
settings.configure(
    SECRET_KEY=request["secret"],
    SESSION_ENGINE="django.contrib.sessions.backends.signed_cookies",
    MESSAGE_STORAGE="django.contrib.messages.storage.cookie.CookieStorage",
    INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.sessions", "django.contrib.messages"],
    USE_TZ=True,
)
django.setup()

from django.contrib.messages.storage.base import Message  # noqa: E402
from django.contrib.messages.storage.cookie import CookieStorage  # noqa: E402
from django.contrib.sessions.backends.signed_cookies import SessionStore  # noqa: E402
from django.core import signing  # noqa: E402
from django.http import HttpRequest, HttpResponse  # noqa: E402
from django.utils.safestring import SafeData, mark_safe  # noqa: E402

out = {"django_version": django.get_version()}

# (a) Porter's session cookie, loaded by Django's signed_cookies backend.
porter_cookie = request["porter_session_cookie"]
out["session_from_porter"] = SessionStore(session_key=porter_cookie).load()
# The bytes Django itself writes for that data at Porter's timestamp.
try:
    b62_decode = signing.b62_decode
except AttributeError:  # Django 3.2
    from django.utils.baseconv import base62

    b62_decode = base62.decode
timestamp = b62_decode(porter_cookie.split(":")[1])
with mock.patch("time.time", return_value=timestamp):
    out["django_bytes_for_porter_data"] = signing.dumps(
        out["session_from_porter"], salt="django.contrib.sessions.backends.signed_cookies", compress=True
    )

# (b) A session Django issues.
store = SessionStore()
store.update(request["django_session_data"])
store.save()
out["django_session_cookie"] = store.session_key

# (c) Porter's message cookie, read by Django's CookieStorage.
req = HttpRequest()
req.COOKIES["messages"] = request["porter_messages_cookie"]
storage = CookieStorage(req)
out["messages_from_porter"] = [
    [m.level, m.message, m.extra_tags, isinstance(m.message, SafeData)] for m in storage
]

# (d) A message cookie Django issues.
storage = CookieStorage(HttpRequest())
response = HttpResponse()
messages = [
    Message(level, mark_safe(text) if safe else text, extra_tags=tags)
    for level, text, tags, safe in request["django_messages"]
]
unstored = storage._store(messages, response)
out["django_messages_cookie"] = response.cookies["messages"].value
out["django_messages_unstored"] = len(unstored)

json.dump(out, sys.stdout)
