"""Admin for the history machinery: the base of every tracked model's admin."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.forms import ModelForm
from django.http import HttpRequest, HttpResponse
from simple_history.admin import SimpleHistoryAdmin


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


@dataclass(frozen=True)
class AdminServices:
    """The services an admin writes a model through, called with keyword
    arguments: `create(data=, actor=)`, `update(pk=, data=, actor=)` and
    `delete(pk=, actor=)`. A missing one leaves that write to the admin."""

    create: Callable[..., models.Model] | None = None
    update: Callable[..., models.Model] | None = None
    delete: Callable[..., models.Model] | None = None


class ServiceWritesMixin:
    """Admin writes through a model's services (`services`), with the admin
    user as the actor, so they record what the API's writes record.

    A service's refusal is a 403 naming it (`refusals_forbidden`); the bulk
    "delete selected" action deletes one object at a time through the service,
    in one transaction. `service_data` is what a saved form gives the services:
    the fields in `service_fields`, related objects by primary key.
    """

    services: ClassVar[AdminServices] = AdminServices()
    service_fields: ClassVar[tuple[str, ...]] = ()

    def service_data(self, form: ModelForm[Any]) -> dict[str, Any]:
        data: dict[str, Any] = {}
        for name in self.service_fields:
            if name not in form.cleaned_data:
                continue
            value = form.cleaned_data[name]
            if isinstance(value, models.Model):
                value = value.pk
            elif isinstance(value, models.QuerySet):
                value = [item.pk for item in value]
            data[name] = value
        return data

    def save_model(
        self, request: HttpRequest, obj: Any, form: ModelForm[Any], change: bool
    ) -> None:
        write = self.services.update if change else self.services.create
        if write is None:
            super().save_model(request, obj, form, change)  # type: ignore[misc]
            return
        data = self.service_data(form)
        with refusals_forbidden():
            if change:
                write(pk=obj.pk, data=data, actor=request.user)
            else:
                obj.pk = write(data=data, actor=request.user).pk
        obj.refresh_from_db()

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        if self.services.delete is None:
            super().delete_model(request, obj)  # type: ignore[misc]
            return
        with refusals_forbidden():
            self.services.delete(pk=obj.pk, actor=request.user)

    def delete_queryset(
        self, request: HttpRequest, queryset: models.QuerySet[Any]
    ) -> None:
        with transaction.atomic():
            for obj in queryset:
                self.delete_model(request, obj)


class TrackedModelAdmin(ServiceWritesMixin, SimpleHistoryAdmin):
    """The admin of a tracked model: every write goes through its services
    (`ServiceWritesMixin`), so an admin change records exactly one version, with
    the admin user, like the API. `save_related` leaves many-to-many fields to
    `save_model` (they belong in the same version). Versions cannot be edited:
    simple-history's version page saves whatever is POSTed to it even when
    `SIMPLE_HISTORY_REVERT_DISABLED` hides its button, so a POST there is
    refused.
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
