"""System checks of the history machinery."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.core.checks import CheckMessage, Error

from history.models import TrackedModel
from history.selectors import tracked_models


def check_tracked_models_are_atomic(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """Every model whose history is built on `VersionExtras` derives from
    `TrackedModel`, so its writes and their versions commit together."""
    labels = None if app_configs is None else {app.label for app in app_configs}
    return [
        Error(
            f"{model._meta.label} records versions but does not derive from "
            "history.models.TrackedModel.",
            hint=(
                "Declare it as `class "
                f"{model.__name__}(TrackedModel)`: its save() and delete() must "
                "write the row and its version in one transaction."
            ),
            obj=model,
            id="history.E001",
        )
        for model in tracked_models()
        if not issubclass(model, TrackedModel)
        and (labels is None or model._meta.app_label in labels)
    ]
