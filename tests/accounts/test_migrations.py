"""Moving ApiToken from history to accounts keeps an upgraded database's tokens."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission, User
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from accounts.models import ApiToken
from accounts.tokens import api_token_authenticate, token_digest

BEFORE = [("history", "0002_changeset"), ("accounts", None)]


@pytest.mark.django_db(transaction=True)
def test_an_upgraded_database_keeps_its_tokens_and_their_permissions() -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    # Users, content types and permissions are as they are now; the token, as
    # it was before the move.
    old = executor.loader.project_state([("history", "0002_changeset")]).apps
    user = User.objects.create(username="script")
    old.get_model("history", "ApiToken").objects.create(
        user_id=user.pk,
        name="nightly import",
        prefix="hist_abcdef",
        digest=token_digest("hist_abcdef-the-rest"),
    )
    ContentType.objects.clear_cache()
    old_type, _ = ContentType.objects.get_or_create(
        app_label="history", model="apitoken"
    )
    Permission.objects.get_or_create(
        content_type=old_type, codename="view_apitoken", name="Can view api token"
    )
    assert not ContentType.objects.filter(app_label="accounts").exists()
    assert "history_apitoken" in connection.introspection.table_names()

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
    ContentType.objects.clear_cache()

    tables = connection.introspection.table_names()
    assert ("accounts_apitoken" in tables, "history_apitoken" in tables) == (
        True,
        False,
    )
    assert list(ApiToken.objects.values_list("name", "prefix", "user__username")) == [
        ("nightly import", "hist_abcdef", "script")
    ]
    assert api_token_authenticate("hist_abcdef-the-rest").username == "script"
    assert list(
        Permission.objects.filter(codename="view_apitoken").values_list(
            "content_type__app_label", flat=True
        )
    ) == ["accounts"]
