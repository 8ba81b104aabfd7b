"""ASGI entry point: `uvicorn config.asgi:application`."""

import os

from django.conf import settings
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

application = get_asgi_application()
if settings.DEBUG:
    # Serve the admin's static files in development, as runserver would.
    application = ASGIStaticFilesHandler(application)
