"""Django settings for the Channels example: no database, cookie sessions.

Just enough Django for Channels' ``AuthMiddlewareStack``: the auth app (for
the user model's id type), signed-cookie sessions (so no session table) and
a toy authentication backend that knows two users (``views.NameBackend``).
"""

from __future__ import annotations

import os

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "trane-example-key-do-not-deploy")
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = ["django.contrib.auth", "django.contrib.contenttypes"]
DATABASES: dict[str, dict[str, str]] = {}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
USE_TZ = True

SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
AUTHENTICATION_BACKENDS = ["examples.channels_site.views.NameBackend"]

# The layer trane's WebSocket views find when no trane.Router is in front:
# swap in channels_redis.core.RedisChannelLayer to run several daphne processes.
CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
