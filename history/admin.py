"""Admin for the history machinery: API tokens, and the base of every tracked
model's admin."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.contrib import admin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.forms import ModelForm
from django.http import HttpRequest, HttpResponse
from simple_history.admin import SimpleHistoryAdmin

from history.models import ApiToken


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("prefix", "user", "name", "created_at", "expires_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("prefix", "user__username", "name")
    readonly_fields = ("prefix", "digest", "created_at")


@contextmanager
def refusals_forbidden() -> Iterator[None]:
    """Answer a service's refusal in the admin (a write lost to a concurrent
    one, a value the form did not check) with a 403 page that names it, rather
    than a server error. The admin's views run in a transaction, which rolls
    back."""
    try:
        yield
    except ValidationError as error:
        raise PermissionDenied(" ".join(error.messages)) from error


class TrackedModelAdmin(SimpleHistoryAdmin):
    """The admin of a tracked model: every write goes through its services.

    Subclasses implement `save_model` and `delete_model` with the model's
    services, so an admin change records exactly one version, with the admin
    user, like the API. `save_related` leaves many-to-many fields to
    `save_model` (they belong in the same version); the bulk "delete selected"
    action deletes through `delete_model`, in one transaction. Versions cannot
    be edited: simple-history's version page saves whatever is POSTed to it
    even when `SIMPLE_HISTORY_REVERT_DISABLED` hides its button, so a POST
    there is refused.
    """

    history_list_display = (
        "history_username",
        "history_change_reason",
        "history_request_id",
    )

    def save_related(
        self, request: HttpRequest, form: ModelForm[Any], formsets: Any, change: bool
    ) -> None:
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def delete_queryset(
        self, request: HttpRequest, queryset: models.QuerySet[Any]
    ) -> None:
        with transaction.atomic():
            for obj in queryset:
                self.delete_model(request, obj)

    def history_form_view(
        self,
        request: HttpRequest,
        object_id: str,
        version_id: str,
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        revert_disabled = getattr(settings, "SIMPLE_HISTORY_REVERT_DISABLED", False)
        if request.method != "GET" and revert_disabled:
            raise PermissionDenied("Versions are read-only; revert through the API.")
        response: HttpResponse = super().history_form_view(
            request, object_id, version_id, extra_context
        )
        return response
