"""Pytest plugin (`-p tests.environment`): test settings, set before Django loads."""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-secret-key")
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")
# A generous statement budget: creating and dropping the test database (which
# waits for a checkpoint) must not be cancelled on a busy server. Tests of the
# budget set a small one themselves.
os.environ.setdefault("DATABASE_STATEMENT_TIMEOUT_MS", "60000")
