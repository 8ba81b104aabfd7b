"""Per-request data loaders: one query per level for fields of list items."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

from asgiref.sync import sync_to_async
from django.db import models
from strawberry.dataloader import DataLoader

from history import selectors, verification


class Loaders:
    """The data loaders of one request, created on first use."""

    def __init__(self) -> None:
        self._loaders: dict[Hashable, DataLoader[Any, Any]] = {}
        self._reference: verification.Reference | None = None

    def _loader(
        self, key: Hashable, fetch: Callable[[list[Any]], dict[Any, Any]]
    ) -> DataLoader[Any, Any]:
        loader = self._loaders.get(key)
        if loader is None:

            async def load(keys: list[Any]) -> list[Any]:
                found = await sync_to_async(fetch)(keys)
                return [found.get(key) for key in keys]

            loader = DataLoader(load_fn=load)
            self._loaders[key] = loader
        return loader

    def versions(
        self, model: type[models.Model], *, staff: bool
    ) -> DataLoader[Any, Any]:
        """Versions of `model` by history id; for non-`staff` viewers, those
        `selectors.visible_versions` hides load as None."""
        return self._loader(
            ("versions", model, staff),
            lambda ids: selectors.history_versions_by_id(
                model=model, history_ids=ids, staff=staff
            ),
        )

    def neighbours(
        self, model: type[models.Model], *, newer: bool, staff: bool
    ) -> DataLoader[Any, Any]:
        """The version just after (`newer`) or before one, by history id, among
        those the viewer sees (`selectors.visible_versions`)."""

        def fetch(ids: list[Any]) -> dict[Any, Any]:
            neighbour_ids = selectors.history_neighbour_ids(
                model=model, history_ids=ids, newer=newer, staff=staff
            )
            versions = selectors.history_versions_by_id(
                model=model,
                history_ids=[i for i in neighbour_ids.values() if i],
                staff=staff,
            )
            return {key: versions.get(value) for key, value in neighbour_ids.items()}

        return self._loader(("neighbours", model, newer, staff), fetch)

    def objects(self, model: type[models.Model]) -> DataLoader[Any, Any]:
        """Live objects of `model` by primary key."""
        return self._loader(
            ("objects", model),
            lambda pks: selectors.objects_by_pk(model=model, pks=pks),
        )

    def changesets(self) -> DataLoader[Any, Any]:
        """Changesets by id."""
        return self._loader(
            ("changesets",), lambda ids: selectors.changesets_by_id(ids=ids)
        )

    def changeset_heads(
        self, models_: tuple[type[models.Model], ...], *, staff: bool
    ) -> DataLoader[Any, Any]:
        """The first version of each changeset among those of `models_` a
        viewer who is `staff` or not may see."""
        return self._loader(
            ("changeset_heads", models_, staff),
            lambda ids: selectors.changeset_heads(
                ids=ids, models_=models_, staff=staff
            ),
        )

    def reference(self) -> verification.Reference:
        """The latest checkpoint, verified once per request (sync code only)."""
        if self._reference is None:
            self._reference = verification.latest_reference()
        return self._reference

    def chains(self, model: type[models.Model]) -> DataLoader[Any, Any]:
        """Objects' chains of `model` verified against the latest checkpoint
        (`history.verification.ChainResult`), by primary key: each object's
        chain once per request, one query per batch."""
        return self._loader(
            ("chains", model),
            lambda pks: verification.chains_by_pk(
                model=model, pks=pks, reference=self.reference()
            ),
        )
