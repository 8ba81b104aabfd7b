"""Models of the history machinery.

`TrackedModel` is the abstract base of every tracked model: its writes and
their versions commit together. `VersionExtras` is the abstract base that
every tracked model's historical model inherits (through simple-history's
`bases=`): it adds the stored diff, the revert marker and the request context
to each version.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from typing import Any, cast

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, router, transaction
from django.db.models.signals import class_prepared
from simple_history.manager import HistoryDescriptor
from simple_history.models import HistoricalRecords
from simple_history.signals import (
    post_create_historical_m2m_records,
    pre_create_historical_m2m_records,
)

from history.constraints import Unsupported, check_passes

# The columns of the keyset every history connection pages by (newest first:
# `history.tracking.NEWEST_FIRST`); `history.paging` needs an index on them so a
# deep page is an index range scan.
KEYSET_COLUMNS = ("history_date", "history_id")
# Set on an instance while `TrackedModel.save()` writes its row: a version
# recorded then comes with its row (not from a many-to-many change alone).
ROW_SAVING_ATTRIBUTE = "_history_row_saving"
# Set on a new version by `history.signals.fill_version`: its object's
# many-to-many rows (by field name, each row by column attname), as read for
# its snapshot, which `TrackedHistoricalRecords` records without reading them
# again.
M2M_ROWS_ATTRIBUTE = "_history_m2m_rows"


class TrackedModel(models.Model):
    """The base of every tracked model: `save()` and `delete()` are atomic.

    Django's `save()` in autocommit mode commits the row, then simple-history
    writes the version in a transaction of its own: a failure in between
    leaves a change with no version, and on PostgreSQL the guards
    (`history.guards`) refuse the row's commit. Here both run in one
    transaction (no savepoint inside an open one: an error marks it for
    rollback, as Django's own `save()` does). A system check
    (`history.checks`) requires this base of every model whose history is
    built on `VersionExtras`. No fields, so migrations do not record it.
    """

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        using = kwargs.get("using") or router.db_for_write(type(self), instance=self)
        with transaction.atomic(using=using, savepoint=False):
            setattr(self, ROW_SAVING_ATTRIBUTE, True)
            try:
                super().save(*args, **kwargs)
            finally:
                delattr(self, ROW_SAVING_ATTRIBUTE)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        using = kwargs.get("using") or router.db_for_write(type(self), instance=self)
        with transaction.atomic(using=using, savepoint=False):
            return super().delete(*args, **kwargs)

    def validate_constraints(self, exclude: Collection[str] | None = None) -> None:
        """Django's check of the model's constraints, with check constraints
        that compare fields with constants evaluated in Python
        (`history.constraints`) rather than by a query each."""
        errors: dict[str, Any] = {}
        using = router.db_for_write(type(self), instance=self)
        for model_class, model_constraints in self.get_constraints():
            for constraint in model_constraints:
                try:
                    if isinstance(constraint, models.CheckConstraint):
                        try:
                            passes = check_passes(constraint, self, exclude)
                        except Unsupported:
                            pass
                        else:
                            if not passes:
                                raise ValidationError(
                                    constraint.get_violation_error_message(),
                                    code=constraint.violation_error_code,
                                )
                            continue
                    constraint.validate(
                        model_class,
                        self,
                        exclude=None if exclude is None else set(exclude),
                        using=using,
                    )
                except ValidationError as error:
                    fields = list(getattr(constraint, "fields", ()))
                    if getattr(error, "code", None) == "unique" and len(fields) == 1:
                        errors.setdefault(fields[0], []).append(error)
                    else:
                        errors = error.update_error_dict(errors)
        if errors:
            raise ValidationError(errors)


class ManagerOnceDescriptor(HistoryDescriptor):
    """simple-history's `Model.history`, with its manager class built once:
    the stock descriptor builds a new class (`from_queryset`, which walks the
    queryset's members) on every access, and every recorded version reads it."""

    def __init__(self, model: Any, manager: Any, queryset: Any) -> None:
        super().__init__(model, manager=manager, queryset=queryset)
        self.manager_once = manager.from_queryset(queryset)

    def __get__(self, instance: Any, owner: Any) -> Any:
        return self.manager_once(self.model, instance)


class TrackedHistoricalRecords(HistoricalRecords):
    """simple-history's `HistoricalRecords`, recording a version's many-to-many
    rows from those its snapshot read (`M2M_ROWS_ATTRIBUTE`) rather than
    reading them again, and without building the object back from the version
    (which reads its excluded fields from the database). Its signals are sent
    as simple-history sends them. `Model.history` is a `ManagerOnceDescriptor`.
    """

    def finalize(self, sender: Any, **kwargs: Any) -> None:
        super().finalize(sender, **kwargs)
        installed = sender.__dict__.get(self.manager_name)
        if type(installed) is HistoryDescriptor:
            setattr(
                sender,
                self.manager_name,
                ManagerOnceDescriptor(
                    installed.model,
                    manager=installed.manager_class,
                    queryset=installed.queryset_class,
                ),
            )

    def copy_fields(
        self, model: type[models.Model]
    ) -> dict[str, models.Field[Any, Any]]:
        """simple-history's copies of the tracked model's fields, the object id
        without an index of its own: the index on (object id, history_date,
        history_id) that every historical model on `VersionExtras` has leads
        with it (`_add_version_indexes`)."""
        fields: dict[str, models.Field[Any, Any]] = super().copy_fields(model)
        pk = model._meta.pk
        # The tracked model, or one inheriting its history (`inherit=True`);
        # not a many-to-many field's historical model (no such index).
        tracked = getattr(self, "cls", None)
        own = model is tracked or (
            self.inherit and tracked is not None and issubclass(model, tracked)
        )
        if own and pk is not None and pk.name in fields:
            cast(Any, fields[pk.name]).db_index = False
        return fields

    def get_extra_fields(
        self, model: type[models.Model], fields: dict[str, Any]
    ) -> dict[str, Any]:
        """simple-history's columns of a version, `history_date` without an
        index of its own on a historical model built on `VersionExtras`: the
        feed's index on (history_date, history_id) leads with it
        (`_add_version_indexes`)."""
        extra: dict[str, Any] = super().get_extra_fields(model, fields)
        if any(issubclass(base, VersionExtras) for base in self.bases):
            extra["history_date"].db_index = False
        return extra

    def _get_history_related_field(
        self, model: type[models.Model]
    ) -> dict[str, models.Field[Any, Any]]:
        """simple-history's `history_relation`, the link an object's
        `versions` follow, without an index of its own: the index on
        (history_relation, history_date, history_id) leads with it
        (`_add_version_indexes`)."""
        fields: dict[str, models.Field[Any, Any]]
        fields = super()._get_history_related_field(model)
        for field in fields.values():
            cast(Any, field).db_index = False
        return fields

    def create_historical_record_m2ms(
        self, history_instance: Any, instance: models.Model
    ) -> None:
        rows = getattr(history_instance, M2M_ROWS_ATTRIBUTE, None)
        if rows is None:
            super().create_historical_record_m2ms(history_instance, instance)
            return
        for field in history_instance._history_m2m_fields:
            m2m_history_model = self.m2m_models[field]
            insert_rows = [
                m2m_history_model(history=history_instance, **row)
                for row in rows[field.name]
            ]
            pre_create_historical_m2m_records.send(
                sender=m2m_history_model,
                rows=insert_rows,
                history_instance=history_instance,
                instance=instance,
                field=field,
            )
            created_rows = m2m_history_model.objects.bulk_create(insert_rows)
            post_create_historical_m2m_records.send(
                sender=m2m_history_model,
                created_rows=created_rows,
                history_instance=history_instance,
                instance=instance,
                field=field,
            )


class VersionExtras(models.Model):
    """Columns added to every historical model.

    Versions are immutable, so the diff against the previous version is computed
    once when the version is written and stored in `history_changes` as
    `{field_name: [old, new]}` in canonical text form.

    An UPDATED version that changed no stored field changed only excluded ones
    (a product's supplier cost, say): `history_staff_only` marks it so that
    only staff see it, and the trail still keeps it. It is a column set when
    the version is written, not derived on read from an empty
    `history_changes`: a plain boolean filters alike on every database (an
    equality test on JSON does not), and it keeps its meaning if the tracked
    fields change later.
    """

    history_changes = models.JSONField(
        default=dict,
        blank=True,
        help_text="Fields this version changed: {field: [old, new]} as text.",
    )
    history_reverted_from = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
        help_text="The version a revert went back to, when a revert wrote this one.",
    )
    history_snapshot = models.JSONField(
        default=dict,
        blank=True,
        help_text=(
            "Related objects as they were: {fk: {id, label} or null, "
            "m2m: [{id, label}]}."
        ),
    )
    history_search = models.TextField(
        blank=True,
        default="",
        help_text="The reason and the changed values, for full-text search.",
    )
    history_segments = models.JSONField(
        default=dict,
        blank=True,
        help_text=(
            "Word-level diffs of the text fields this version changed: "
            "{field: [[op, text], ...]}, computed once when it was written."
        ),
    )
    history_username = models.CharField(
        max_length=150,
        blank=True,
        default="",
        help_text="The username of who made the change, as it was then.",
    )
    history_user_pk = models.BigIntegerField(
        null=True,
        blank=True,
        db_index=True,
        help_text="The id of who made the change; kept after the user is deleted.",
    )
    history_staff_only = models.BooleanField(
        default=False,
        help_text=(
            "Set when the version changed only fields versions do not store "
            "(sensitive or derived ones): only staff see it."
        ),
    )
    history_ip_address = models.GenericIPAddressField(null=True, blank=True)
    history_user_agent = models.TextField(blank=True, default="")
    history_request_id = models.CharField(max_length=128, blank=True, default="")
    history_changeset = models.ForeignKey(
        "history.Changeset",
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
        help_text="The request (or service call) that wrote this version.",
    )
    history_prev_hash = models.CharField(
        max_length=64,
        blank=True,
        default="",
        help_text=(
            "The hash of the object's version before this one (64 zeros for its "
            "first): the link of its hash chain."
        ),
    )
    history_hash = models.CharField(
        max_length=64,
        blank=True,
        default="",
        help_text=(
            "SHA-256 over the previous hash and this version's content, in hex "
            "(see history.chains)."
        ),
    )

    class Meta:
        abstract = True


class Changeset(models.Model):
    """Everything one request, or one service call outside a request, wrote.

    Its who, when and why are those of the first version written in it; its
    request context is the request's. Rows are never changed once written.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    history_date = models.DateTimeField(
        db_index=True, help_text="When its first version was written."
    )
    history_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        db_constraint=False,
        related_name="+",
        help_text="Who made the changes; null outside a request.",
    )
    history_user_pk = models.BigIntegerField(
        null=True,
        blank=True,
        db_index=True,
        help_text="The id of who made the changes; kept after the user is deleted.",
    )
    history_username = models.CharField(
        max_length=150,
        blank=True,
        default="",
        help_text="The username of who made the changes, as it was then.",
    )
    # Null as the versions' own reason is (simple-history's column): no reason
    # given is not the same fact as an empty one.
    history_change_reason = models.TextField(  # noqa: DJ001
        null=True, blank=True, help_text="Why the changes were made."
    )
    history_ip_address = models.GenericIPAddressField(null=True, blank=True)
    history_user_agent = models.TextField(blank=True, default="")
    history_request_id = models.CharField(max_length=128, blank=True, default="")

    class Meta:
        ordering = ("-history_date", "-id")

    def __str__(self) -> str:
        return f"Changeset {self.id} ({self.history_date:%Y-%m-%d %H:%M:%S})"


class Pruning(models.Model):
    """A record that `prune_history` deleted old versions of one tracked model.

    Versions are never deleted silently: each prune writes one of these (and a
    `Changeset` whose reason says the same), kept however often pruning runs.
    """

    pruned_at = models.DateTimeField(
        db_index=True, help_text="When the versions were deleted."
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        db_constraint=False,
        related_name="+",
        help_text="Who pruned; null for a command run outside a request.",
    )
    model = models.CharField(
        max_length=200, help_text="The tracked model, as app_label.model."
    )
    cutoff = models.DateTimeField(
        help_text="Versions written before this moment were pruned."
    )
    count = models.PositiveBigIntegerField(help_text="How many versions were deleted.")
    changeset = models.ForeignKey(
        Changeset,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
        help_text="The changeset that records the prune in the audit trail.",
    )

    class Meta:
        ordering = ("-pruned_at", "-id")

    def __str__(self) -> str:
        return (
            f"Pruned {self.count} versions of {self.model} ({self.pruned_at:%Y-%m-%d})"
        )


class Checkpoint(models.Model):
    """A signed statement of the head of every version chain at one moment.

    `statement` is the exact text that was signed (compact JSON, sorted keys:
    format, kind, created_at, versions, chains, Merkle root, the hash of the
    previous checkpoint's statement, and what a prune deleted); the other
    columns repeat its values for queries, and `heads` holds the leaves the
    root was computed from. See `history.checkpoints`. Rows are written once
    and never changed; the signing key is never stored, only the signer's
    public key, for information (verification uses a key held elsewhere).
    """

    class Kind(models.TextChoices):
        CHECKPOINT = "checkpoint", "Checkpoint"
        PRUNE = "prune", "Prune"

    created_at = models.DateTimeField(
        db_index=True, help_text="When the heads were read."
    )
    kind = models.CharField(
        max_length=16,
        choices=Kind.choices,
        help_text="checkpoint (written on its own) or prune (left by a prune).",
    )
    versions = models.PositiveBigIntegerField(
        help_text="How many versions the chains held, all models together."
    )
    chains = models.PositiveBigIntegerField(
        help_text="How many chains (objects with versions) there were."
    )
    root = models.CharField(
        max_length=64, help_text="The Merkle root over the chains' heads, in hex."
    )
    previous = models.CharField(
        max_length=64,
        blank=True,
        help_text=(
            "SHA-256 of the previous checkpoint's statement, in hex; empty for "
            "the first."
        ),
    )
    statement = models.TextField(help_text="The exact text that was signed.")
    signature = models.TextField(
        help_text="The Ed25519 signature of the statement, in base64."
    )
    public_key = models.CharField(
        max_length=64,
        help_text="The signer's public key, in base64 (for information only).",
    )
    heads = models.JSONField(
        default=dict,
        blank=True,
        help_text="{label: {object id: [base, length, head]}}: the Merkle leaves.",
    )
    pruned = models.JSONField(
        null=True,
        blank=True,
        help_text="What the prune deleted ({model, cutoff, count}); null otherwise.",
    )

    class Meta:
        ordering = ("-id",)

    def __str__(self) -> str:
        return (
            f"{self.get_kind_display()} {self.pk} ({self.created_at:%Y-%m-%d %H:%M:%S})"
        )


def keyset_index_name(model: type[models.Model]) -> str:
    """The name of the keyset index of a historical model (at most 30 characters,
    as Django requires)."""
    return f"{model._meta.db_table[:23]}_keyset"


def object_index_name(model: type[models.Model]) -> str:
    """The name of the index of a historical model on (object id, keyset), at
    most 30 characters."""
    return f"{model._meta.db_table[:23]}_object"


def relation_index_name(model: type[models.Model]) -> str:
    """The name of the index of a historical model on (history_relation,
    keyset), at most 30 characters."""
    return f"{model._meta.db_table[:21]}_relation"


def _add_version_indexes(sender: type[models.Model], **kwargs: Any) -> None:
    """Give every historical model built on `VersionExtras` an index on
    (history_date, history_id), the feed's keyset, and one object's versions
    in keyset order: on (object id, history_date, history_id), and on
    (history_relation, history_date, history_id) when it has that link.

    The object id's is what a write reads its object's newest version by
    (under the object's lock, `history.heads`); the link's is what the
    object's `versions` (its `history` connection, nested or not) are read
    by. Without them, both sort all the object's versions, or walk the feed's
    index back past every newer version of other objects, and cost more the
    longer the history. Each leads with its column, so
    `TrackedHistoricalRecords` drops simple-history's index on that column
    alone (the object id, `history_relation`, `history_date`).

    simple-history builds the historical model's `Meta` itself, so the abstract
    base's `Meta.indexes` would not reach it, and its own
    `SIMPLE_HISTORY_DATE_INDEX = "composite"` pairs the date with the tracked
    object's key, not with `history_id`. A tracked model therefore gets the
    indexes by declaring `bases=[VersionExtras]`, and `makemigrations` picks
    them up.
    """
    if not issubclass(sender, VersionExtras) or sender._meta.abstract:
        return
    tracked = getattr(sender, "instance_type", None)
    wanted = [(keyset_index_name(sender), list(KEYSET_COLUMNS))]
    if tracked is not None:
        object_column = tracked._meta.pk.attname
        wanted.append((object_index_name(sender), [object_column, *KEYSET_COLUMNS]))
    if any(field.name == "history_relation" for field in sender._meta.fields):
        wanted.append(
            (relation_index_name(sender), ["history_relation", *KEYSET_COLUMNS])
        )
    indexes = list(sender._meta.indexes)
    for name, fields in wanted:
        if not any(index.name == name for index in indexes):
            indexes.append(models.Index(fields=fields, name=name))
    # `original_attrs` is what migrations read, as if `Meta` had declared them.
    sender._meta.indexes = sender._meta.original_attrs["indexes"] = indexes


# Connected here, before any tracked model's module imports `VersionExtras`.
class_prepared.connect(_add_version_indexes, dispatch_uid="history_keyset_index")
