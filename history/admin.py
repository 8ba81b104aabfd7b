"""Admin for the history machinery: the base of every tracked model's admin."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar

from django import forms
from django.contrib import messages
from django.contrib.admin.actions import delete_selected
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import models, transaction
from django.db.models import Exists, OuterRef
from django.forms import ModelForm
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    HttpResponseRedirect,
)
from django.shortcuts import render
from django.urls import path, reverse
from simple_history.admin import SimpleHistoryAdmin

from history.selectors import history_latest, history_versions
from history.state import state_of
from history.tracking import (
    DELETED,
    NEWEST_FIRST,
    history_model_for,
    tracked_fields,
)
from history.validation import MAX_REASON_LENGTH

REASON_HELP = "Why you make this change; recorded with the version."


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
    arguments: `create(data=, actor=, reason=)`, `update(pk=, data=, actor=,
    reason=)`, `delete(pk=, actor=, reason=)` and `revert(pk=, record_id=,
    actor=, reason=, expected_latest_id=)`. A missing one leaves that write to
    the admin (a missing `revert`: no revert in the admin)."""

    create: Callable[..., models.Model] | None = None
    update: Callable[..., models.Model] | None = None
    delete: Callable[..., models.Model] | None = None
    revert: Callable[..., Any] | None = None


def admin_reason(request: HttpRequest) -> str:
    """The reason a POSTed admin form gives, stripped ("" when none)."""
    return str(request.POST.get("reason", "")).strip()


def refusal_text(error: ValidationError | PermissionDenied) -> str:
    """A service's refusal as one line for an admin message, its code first."""
    if isinstance(error, PermissionDenied):
        return f"PERMISSION_DENIED: {' '.join(str(a) for a in error.args)}"
    codes = sorted({str(e.code) for e in _flat_errors(error) if e.code is not None})
    return f"{', '.join(codes)}: {' '.join(error.messages)}"


def _flat_errors(error: ValidationError) -> list[ValidationError]:
    if hasattr(error, "error_dict"):
        return [e for errors in error.error_dict.values() for e in errors]
    return list(error.error_list)


def reason_form(form: type[ModelForm[Any]]) -> type[ModelForm[Any]]:
    """`form` with a required `reason` field, which no model field holds: it
    becomes the version's change reason."""
    reason = forms.CharField(
        max_length=MAX_REASON_LENGTH, required=True, help_text=REASON_HELP
    )
    return type(form.__name__, (form,), {"reason": reason})


def delete_selected_with_reason(
    modeladmin: Any, request: HttpRequest, queryset: models.QuerySet[Any]
) -> HttpResponseBase | None:
    """Django's "delete selected", asking for a reason: a confirmation without
    one shows the confirmation page again."""
    if request.POST.get("post") and not admin_reason(request):
        messages.error(request, "Give a reason for the deletion.")
        post = request.POST.copy()
        post.pop("post")
        request.POST = post  # type: ignore[assignment]
    return delete_selected(modeladmin, request, queryset)


delete_selected_with_reason.short_description = (  # type: ignore[attr-defined]
    delete_selected.short_description  # type: ignore[attr-defined]
)
delete_selected_with_reason.allowed_permissions = ("delete",)  # type: ignore[attr-defined]


class ServiceWritesMixin:
    """Admin writes through a model's services (`services`), with the admin
    user as the actor, so they record what the API's writes record.

    A service's refusal is a 403 naming it (`refusals_forbidden`); the bulk
    "delete selected" action deletes one object at a time through the service,
    in one transaction. `service_data` is what a saved form gives the services:
    the fields in `service_fields`, related objects by primary key. With
    `require_reason`, the add, change and delete forms ask for a reason, which
    the services record.
    """

    services: ClassVar[AdminServices] = AdminServices()
    service_fields: ClassVar[tuple[str, ...]] = ()
    require_reason: ClassVar[bool] = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.require_reason:
            self.form = reason_form(self.form)  # type: ignore[has-type]

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions: dict[str, Any] = super().get_actions(request)  # type: ignore[misc]
        if self.require_reason and "delete_selected" in actions:
            _, name, description = actions["delete_selected"]
            actions[name] = (delete_selected_with_reason, name, description)
        return actions

    def delete_view(
        self,
        request: HttpRequest,
        object_id: str,
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        if (
            self.require_reason
            and request.method == "POST"
            and not admin_reason(request)
        ):
            messages.error(request, "Give a reason for the deletion.")
            return HttpResponseRedirect(request.get_full_path())
        response: HttpResponse = super().delete_view(  # type: ignore[misc]
            request, object_id, extra_context
        )
        return response

    def _reason(self, request: HttpRequest, form: ModelForm[Any] | None) -> Any:
        if form is not None and "reason" in form.cleaned_data:
            return form.cleaned_data["reason"]
        return admin_reason(request) or None

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
        reason = self._reason(request, form)
        with refusals_forbidden():
            if change:
                write(pk=obj.pk, data=data, actor=request.user, reason=reason)
            else:
                obj.pk = write(data=data, actor=request.user, reason=reason).pk
        obj.refresh_from_db()

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        if self.services.delete is None:
            super().delete_model(request, obj)  # type: ignore[misc]
            return
        with refusals_forbidden():
            self.services.delete(
                pk=obj.pk, actor=request.user, reason=self._reason(request, None)
            )

    def delete_queryset(
        self, request: HttpRequest, queryset: models.QuerySet[Any]
    ) -> None:
        with transaction.atomic():
            for obj in queryset:
                self.delete_model(request, obj)


def _shown(display: str | list[str] | None) -> str:
    if isinstance(display, list):
        return ", ".join(display) or "—"
    return "—" if display is None else display


class TrackedModelAdmin(ServiceWritesMixin, SimpleHistoryAdmin):
    """The admin of a tracked model: every write goes through its services
    (`ServiceWritesMixin`) with a required reason, so an admin change records
    exactly one version, with the admin user and why, like the API.
    `save_related` leaves many-to-many fields to `save_model` (they belong in
    the same version).

    A version's page shows the values the version recorded (related objects by
    the labels they had then, from `history_snapshot`; fields versions do not
    store are not shown) and offers "Revert to this version" through the
    model's revert service (`services.revert`), with a required reason and the
    newest version the page saw as the expected latest, so a revert over a
    change made since is refused (STALE). Reverting a deleted object's version
    restores it; `deleted/` lists the objects deleted and not restored. simple-
    history's own revert (saving whatever is POSTed to the version page) is not
    reachable.
    """

    require_reason = True
    delete_confirmation_template = "history/admin/delete_confirmation.html"
    delete_selected_confirmation_template = (
        "history/admin/delete_selected_confirmation.html"
    )
    # simple-history's list shows the change reason itself.
    history_list_display = ("history_username", "history_request_id")
    version_template = "history/admin/version.html"
    deleted_template = "history/admin/deleted.html"
    change_list_template = "history/admin/change_list.html"
    deleted_per_page = 100

    def get_urls(self) -> list[Any]:
        opts = self.model._meta
        deleted = path(
            "deleted/",
            self.admin_site.admin_view(self.deleted_view),
            name=f"{opts.app_label}_{opts.model_name}_deleted",
        )
        return [deleted, *super().get_urls()]

    def deleted_view(self, request: HttpRequest) -> HttpResponse:
        """The objects deleted and not restored, newest deletion first: each
        deletion's version, linking to the object's history, where a version's
        page restores it."""
        if not self.has_view_history_or_change_history_permission(request):
            raise PermissionDenied
        request.current_app = self.admin_site.name
        history_model = history_model_for(self.model)
        pk_name = self.model._meta.pk.attname
        newer = history_model.objects.filter(
            **{pk_name: OuterRef(pk_name)}, history_id__gt=OuterRef("history_id")
        )
        deletions = (
            history_model.objects.filter(history_type=DELETED)
            .exclude(**{f"{pk_name}__in": self.model._default_manager.values("pk")})
            .exclude(Exists(newer))
            .order_by(*NEWEST_FIRST)
        )
        page = Paginator(deletions, self.deleted_per_page).get_page(
            request.GET.get("p")
        )
        opts = self.model._meta
        context = {
            **self.admin_site.each_context(request),
            "title": f"Deleted {opts.verbose_name_plural}",
            "opts": opts,
            "page": page,
            "rows": [
                (version, self._version_url("history", getattr(version, pk_name)))
                for version in page
            ],
            "changelist_url": self._version_url("changelist"),
        }
        return render(request, self.deleted_template, context)

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
        request.current_app = self.admin_site.name
        model = self.model
        object_id = unquote(object_id)
        version = (
            history_versions(model=model, pk=object_id)
            .filter(history_id=version_id)
            .select_related("history_reverted_from")
            .first()
            if str(version_id).isdigit()
            else None
        )
        if version is None:
            raise Http404("No such version.")
        if not self.has_view_history_or_change_history_permission(request):
            raise PermissionDenied
        if request.method == "POST":
            return self._revert(request, object_id, version)
        return self._render_version(request, object_id, version, extra_context)

    def _version_url(self, name: str, *args: Any) -> str:
        opts = self.model._meta
        return reverse(
            f"{self.admin_site.name}:{opts.app_label}_{opts.model_name}_{name}",
            args=args,
        )

    def _render_version(
        self,
        request: HttpRequest,
        object_id: Any,
        version: Any,
        extra_context: dict[str, Any] | None,
    ) -> HttpResponse:
        opts = self.model._meta
        state = state_of(self.model, version)
        rows = [
            (str(field.verbose_name).capitalize(), _shown(state[field.name].display))
            for field in tracked_fields(self.model)
        ]
        latest = history_latest(model=self.model, pk=object_id)
        can_revert = self.services.revert is not None and self.has_change_permission(
            request
        )
        context = {
            **self.admin_site.each_context(request),
            "title": f"Version {version.history_id} of {version}",
            "opts": opts,
            "app_label": opts.app_label,
            "version": version,
            "rows": rows,
            "is_deleted_version": version.history_type == DELETED,
            "object_deleted": latest is not None and latest.history_type == DELETED,
            "latest_id": None if latest is None else latest.history_id,
            "is_latest": latest is not None and latest.history_id == version.history_id,
            "can_revert": can_revert,
            "history_url": self._version_url("history", object_id),
            "changelist_url": self._version_url("changelist"),
            **(extra_context or {}),
        }
        return render(request, self.version_template, context)

    def _revert(
        self, request: HttpRequest, object_id: Any, version: Any
    ) -> HttpResponse:
        here = request.get_full_path()
        if self.services.revert is None:
            raise PermissionDenied("This model cannot be reverted here.")
        reason = admin_reason(request)
        if not reason:
            messages.error(request, "REASON_REQUIRED: Give a reason for the revert.")
            return HttpResponseRedirect(here)
        expected = request.POST.get("expected_latest") or None
        try:
            result = self.services.revert(
                pk=object_id,
                record_id=version.history_id,
                actor=request.user,
                reason=reason,
                expected_latest_id=expected,
            )
        except (ValidationError, PermissionDenied) as error:
            messages.error(request, f"Not reverted. {refusal_text(error)}")
            return HttpResponseRedirect(here)
        messages.success(
            request,
            f"{result.instance} was reverted to version {version.history_id}.",
        )
        return HttpResponseRedirect(self._version_url("history", object_id))
