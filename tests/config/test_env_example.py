"""`cp .env.example .env` is safe: as copied, it changes no setting."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from dotenv import dotenv_values

from tests.helpers import manage_py

EXAMPLE = settings.BASE_DIR / ".env.example"


def all_settings(extra: dict[str, str]) -> str:
    """`diffsettings --all` in a fresh process, with only `extra` of the
    example's variables set (and debug on, as `make` sets it)."""
    named = set(dotenv_values(EXAMPLE)) | {"DATABASE_URL", "DJANGO_SECRET_KEY"}
    result = manage_py("diffsettings", "--all", env=extra, unset=named, check=True)
    # Object reprs differ by address between processes.
    return re.sub(r" at 0x[0-9a-f]+", "", result.stdout)


@pytest.mark.skipif(
    (settings.BASE_DIR / ".env").exists(), reason="a .env file would be read too"
)
def test_the_example_as_copied_changes_no_setting() -> None:
    values = {k: v for k, v in dotenv_values(EXAMPLE).items() if v is not None}

    assert values["DJANGO_DEBUG"] == "1"
    assert all_settings(values) == all_settings({})


def test_the_example_keeps_the_default_database() -> None:
    values = dotenv_values(EXAMPLE)

    assert "DATABASE_URL" not in values
    assert "# DATABASE_URL=postgres://" in EXAMPLE.read_text()
