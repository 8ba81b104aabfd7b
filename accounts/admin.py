"""Admin of bearer tokens: list, search and revoke them; never their secret.

A token is created by `create_api_token`, which shows it once; the admin has no
add form (nothing here could show a token) and never shows a digest. Staff with
`accounts.change_apitoken` revoke tokens with the "Revoke" action, through
`api_token_revoke`; a revoked token stays listed, as evidence of who could act
as whom. Deleting a token (or its user) needs `accounts.delete_apitoken`.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts.models import ApiToken
from accounts.tokens import api_token_revoke

SHOWN_FIELDS = (
    "prefix",
    "user",
    "name",
    "created_at",
    "expires_at",
    "revoked_at",
    "last_used_at",
)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = SHOWN_FIELDS
    list_filter = ("revoked_at", "expires_at", "last_used_at")
    list_select_related = ("user",)
    search_fields = ("prefix", "user__username", "name")
    fields = SHOWN_FIELDS
    readonly_fields = SHOWN_FIELDS
    actions = ("revoke_tokens",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(
        self, request: HttpRequest, obj: ApiToken | None = None
    ) -> bool:
        # A token's page is read-only; changing means revoking, an action.
        if obj is not None:
            return False
        return super().has_change_permission(request, obj)

    @admin.action(description="Revoke the selected tokens", permissions=["change"])
    def revoke_tokens(
        self, request: HttpRequest, queryset: QuerySet[ApiToken, Any]
    ) -> None:
        revoked = 0
        for token in queryset.filter(revoked_at__isnull=True):
            api_token_revoke(token=token)
            revoked += 1
        self.message_user(
            request, f"{revoked} token(s) revoked.", level=messages.SUCCESS
        )
