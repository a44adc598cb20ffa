"""Django settings for channels2_app: the least a Channels 2 project had."""

SECRET_KEY = "legacy-apps-only"
DEBUG = False
ALLOWED_HOSTS = ["*"]
INSTALLED_APPS = ["channels"]
ROOT_URLCONF = "channels2_urls"
ASGI_APPLICATION = "channels2_app.application"
