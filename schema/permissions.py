"""Permission checks of the GraphQL layer, answered from the loaded viewer.

Why not strawberry-django's permission extensions (`HasPerm`, checked in
0.93.0): by default they fail silently (a denied connection answers empty, a
denied object null), which the contract forbids; with `fail_silently=False`
they raise a `PermissionDenied` that carries no `extensions.code`, and only
while the field resolves, so a mutation that selects a denied field has
written before it is refused. Ours are plain strawberry permission classes
that name what they require, so `RefuseDeniedOperations` refuses the whole
operation before it runs, with `PERMISSION_DENIED`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import models
from strawberry.permission import BasePermission
from strawberry.types import Info

from history.tracking import history_view_permission
from schema.context import viewer_of
from schema.errors import AuthErrorCode

PERMISSION_DENIED = AuthErrorCode.PERMISSION_DENIED.value


def can_view_history(info: Info[Any, Any], model: type[models.Model]) -> bool:
    """Whether the viewer may read the versions of `model`."""
    return viewer_of(info).has_perm(history_view_permission(model))


def history_permission(model: type[models.Model]) -> type[BasePermission]:
    """A field permission that refuses viewers who may not read `model`'s history."""
    permission = history_view_permission(model)

    class CanViewHistory(BasePermission):
        required_permission = permission
        message = f"You need the {permission} permission to read history."
        error_extensions = {"code": PERMISSION_DENIED}

        def has_permission(
            self, source: Any, info: Info[Any, Any], **kwargs: Any
        ) -> bool:
            return viewer_of(info).has_perm(permission)

    CanViewHistory.__name__ = f"CanView{model.__name__}History"
    return CanViewHistory


def readable_models(
    viewer: Any, models_: list[type[models.Model]]
) -> list[type[models.Model]]:
    """The models among `models_` whose history the viewer may read."""
    return [m for m in models_ if viewer.has_perm(history_view_permission(m))]


def any_history_permission(
    tracked_models: Callable[[], list[type[models.Model]]],
) -> type[BasePermission]:
    """A field permission that refuses viewers who may read no tracked model's
    history (the field then answers only the models they may read)."""

    class CanViewSomeHistory(BasePermission):
        message = (
            "You need the history permission of at least one tracked model "
            "(e.g. products.view_historicalproduct)."
        )
        error_extensions = {"code": PERMISSION_DENIED}

        @staticmethod
        def allows(viewer: Any) -> bool:
            return bool(readable_models(viewer, tracked_models()))

        def has_permission(
            self, source: Any, info: Info[Any, Any], **kwargs: Any
        ) -> bool:
            return self.allows(viewer_of(info))

    return CanViewSomeHistory


def readable_entries(info: Info[Any, Any]) -> list[Any]:
    """The registered tracked models whose history the viewer may read."""
    from schema.registry import entries

    viewer = viewer_of(info)
    return [
        entry
        for entry in entries()
        if viewer.has_perm(history_view_permission(entry.model))
    ]


def readable_versions(info: Info[Any, Any]) -> list[Any]:
    """A queryset of versions per tracked model whose history the viewer may
    read, each of the versions the viewer may see (staff-only ones only for
    staff)."""
    from history.selectors import visible_versions

    staff = viewer_of(info).is_staff
    return [
        visible_versions(entry.history_model.objects.all(), staff=staff)
        for entry in readable_entries(info)
    ]
