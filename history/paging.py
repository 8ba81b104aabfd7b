"""Keyset paging of versions, newest first, over one historical model or several.

A version's place in a feed is its `Key`: (history_date, model, history_id),
compared as a tuple and listed in descending order (`NEWEST_FIRST`, with the
model's label breaking ties between tables, since `history_id` is per table). A
page starts after or ends before a key, so writes between two page requests
neither repeat nor skip a version that existed when paging began, and a page
deep in a feed costs an index range scan on (history_date, history_id) (the
index `history.models` gives every historical model), never an OFFSET scan.

Three readers, one per shape of request:

- `versions_page`: one queryset; one `WHERE (date, id) < (d, i) ORDER BY ...
  LIMIT n + 1` query.
- `feed_page`: several querysets of different historical models; one page
  query, a `UNION ALL` of each queryset's key columns (each branch limited and
  ordered, so each is an index range scan) ordered and limited again, then one
  query per model that has versions on the page.
- `windowed_versions` / `windowed_page`: one page per parent object inside a
  prefetch (the nested `history` of a list of products), with the parent's
  counts riding along for `totalCount`, so a list of parents and their pages
  is one query. On PostgreSQL it reads each parent's page by the index on
  (parent, history_date, history_id) in a `LATERAL` join, and the counts from
  the same index; elsewhere, row-number windows partitioned by the parent.

No GraphQL here: cursors are `Key`s; `encode_key` / `decode_key` give their text
form, which the GraphQL layer wraps.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from json.encoder import encode_basestring_ascii
from typing import Any, cast

from django.core.exceptions import EmptyResultSet
from django.db import connections, models
from django.db.models import Case, Count, F, Min, Q, Sum, Value, When, Window
from django.db.models.expressions import RawSQL
from django.db.models.fields.related_lookups import RelatedIn
from django.db.models.fields.tuple_lookups import (
    Tuple,
    TupleGreaterThan,
    TupleGreaterThanOrEqual,
    TupleLessThan,
    TupleLessThanOrEqual,
)
from django.db.models.functions import RowNumber
from django.db.models.query import ModelIterable
from django.db.models.sql import Query

from history.tracking import NEWEST_FIRST

OLDEST_FIRST = tuple(column.removeprefix("-") for column in NEWEST_FIRST)
# The largest history_id a key may name: PostgreSQL's bigint.
MAX_HISTORY_ID = 2**63 - 1
# Annotations of `windowed_versions`, read back by `windowed_page`.
_IN_RANGE = "_keyset_in_range"
_IN_RANGE_ROW = "_keyset_in_range_row"
_POSITION = "_keyset_position"
_POSITION_FROM_END = "_keyset_position_from_end"
_IN_RANGE_COUNT = "_keyset_in_range_count"
_TOTAL = "_keyset_total"
_DATE = "_keyset_date"
_NEWEST = "_keyset_newest"
# The annotations `windowed_versions` adds besides the key's date.
_WINDOWED = frozenset(
    {
        _IN_RANGE,
        _IN_RANGE_ROW,
        _POSITION,
        _POSITION_FROM_END,
        _IN_RANGE_COUNT,
        _TOTAL,
        _NEWEST,
    }
)


class BadKey(ValueError):
    """A cursor that names no place in this feed: malformed, or of another feed."""


def model_label(model: type[models.Model]) -> str:
    """The label a key names a historical model by, e.g.
    "products.historicalproduct"."""
    return model._meta.label_lower


@dataclass(frozen=True, order=True)
class Key:
    """The place of one version in a feed; feeds list keys in descending order."""

    history_date: datetime.datetime
    model: str
    history_id: int

    @classmethod
    def of(cls, version: models.Model) -> Key:
        """The key of a loaded version (read through `with_key` if it came
        from this module: the optimizer may defer `history_date`)."""
        return cls(
            history_date=_moment_of(version),
            model=model_label(type(version)),
            history_id=version.pk,
        )


def _moment_of(version: models.Model) -> datetime.datetime:
    moment: datetime.datetime | None = version.__dict__.get(_DATE)
    if moment is None:
        moment = version.history_date  # type: ignore[attr-defined]
    return moment


def _key_text(moment: datetime.datetime, model: str, history_id: int) -> str:
    # What `json.dumps([...], separators=(",", ":"))` writes, without building
    # an encoder for every cursor of a page.
    return (
        f"[{encode_basestring_ascii(moment.astimezone(datetime.UTC).isoformat())},"
        f"{encode_basestring_ascii(model)},{int(history_id)}]"
    )


def encode_key(key: Key) -> str:
    """The text form of a key (JSON: the date in UTC, the model, the id)."""
    return _key_text(key.history_date, key.model, key.history_id)


def encode_key_of(version: models.Model) -> str:
    """`encode_key(Key.of(version))`, for every version of a page."""
    return _key_text(_moment_of(version), model_label(type(version)), version.pk)


def decode_key(text: str) -> Key:
    """The key `encode_key` wrote; `BadKey` for anything else."""
    try:
        moment, model, history_id = json.loads(text)
        at = datetime.datetime.fromisoformat(moment)
    except (ValueError, TypeError) as error:
        raise BadKey("the cursor is malformed.") from error
    if (
        at.tzinfo is None
        or not isinstance(model, str)
        or type(history_id) is not int
        or not 0 < history_id <= MAX_HISTORY_ID
    ):
        raise BadKey("the cursor is malformed.")
    return Key(history_date=at, model=model, history_id=history_id)


@dataclass
class Page:
    """One page of versions, newest first."""

    versions: list[Any]
    has_previous: bool = False
    has_next: bool = False
    # The versions of the whole feed (cursors aside), when the page query knew
    # it for free (a windowed page); None means "count when asked".
    total: int | None = None


@dataclass(frozen=True)
class Bounds:
    """Which slice of a feed a page is: Relay's first/after/last/before."""

    first: int | None = None
    after: Key | None = None
    last: int | None = None
    before: Key | None = None

    def __post_init__(self) -> None:
        for name in ("first", "last"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise BadKey(f"Argument '{name}' must be a non-negative integer.")

    @property
    def backwards(self) -> bool:
        """Whether the page is read from the oldest end (only `last` given)."""
        return self.first is None and self.last is not None

    @property
    def start(self) -> Key | None:
        """The cursor the page query reads from (`before` when reading
        backwards): read inclusively, it tells whether versions lie beyond it."""
        return self.before if self.backwards else self.after

    @property
    def fetch(self) -> int:
        """How many versions the page query reads: the page, one more, and the
        start cursor's own version."""
        size = self.first if self.first is not None else self.last
        assert size is not None
        return size + 1 + (self.start is not None)

    def page(self, versions: list[Any]) -> Page:
        """The page from versions read (inclusively from `start`) in the page
        query's order."""
        beyond = bool(versions) and Key.of(versions[0]) == self.start
        page = self.trim(versions[1:] if beyond else versions)
        if self.backwards:
            page.has_next = beyond
        else:
            page.has_previous = page.has_previous or beyond
        return page

    def trim(self, versions: list[Any]) -> Page:
        """The page from versions read in the query's order (`fetch` of them)."""
        if self.backwards:
            assert self.last is not None
            has_previous = len(versions) > self.last
            return Page(versions[: self.last][::-1], has_previous=has_previous)
        assert self.first is not None
        has_next = len(versions) > self.first
        versions = versions[: self.first]
        has_previous = self.last is not None and len(versions) > self.last
        if self.last is not None:
            versions = versions[len(versions) - self.last :]
        return Page(versions, has_previous=has_previous, has_next=has_next)


def _key_columns() -> Tuple:
    return Tuple(*(F(column) for column in OLDEST_FIRST))


def _range(
    model: type[models.Model], bounds: Bounds, *, inclusive: Key | None = None
) -> Q:
    """The versions of `model` strictly between the bounds' cursors (and the
    `inclusive` cursor's own version)."""
    label = model_label(model)
    condition = Q()
    for key, older in ((bounds.after, True), (bounds.before, False)):
        if key is None:
            continue
        if key.model == label:
            if key == inclusive:
                lookup: Any = TupleLessThanOrEqual if older else TupleGreaterThanOrEqual
            else:
                lookup = TupleLessThan if older else TupleGreaterThan
            condition &= Q(lookup(_key_columns(), (key.history_date, key.history_id)))
        elif (label < key.model) == older:
            # Every version of this model at that moment sorts on this side.
            side = "lte" if older else "gte"
            condition &= Q(**{f"history_date__{side}": key.history_date})
        else:
            condition &= Q(
                **{f"history_date__{'lt' if older else 'gt'}": key.history_date}
            )
    return condition


def _check_models(labels: Iterable[str], bounds: Bounds) -> None:
    known = set(labels)
    for name, key in (("after", bounds.after), ("before", bounds.before)):
        if key is not None and key.model not in known:
            raise BadKey(
                f"Argument '{name}': the cursor belongs to another connection."
            )


def with_key(queryset: models.QuerySet[Any]) -> models.QuerySet[Any]:
    """`queryset` loading each version's key, even where the optimizer's
    `only()` leaves `history_date` out."""
    return queryset.annotate(**{_DATE: F("history_date")})


def _ordered(queryset: models.QuerySet[Any], *, backwards: bool) -> Any:
    return queryset.order_by(*(OLDEST_FIRST if backwards else NEWEST_FIRST))


def versions_page(queryset: models.QuerySet[Any], *, bounds: Bounds) -> Page:
    """A page of the versions of one historical model: one query.

    Raises:
        BadKey: a cursor names a version of another model.
    """
    model = queryset.model
    _check_models([model_label(model)], bounds)
    within = _ordered(
        with_key(queryset).filter(_range(model, bounds, inclusive=bounds.start)),
        backwards=bounds.backwards,
    )
    return bounds.page(list(within[: bounds.fetch]))


def feed_page(querysets: Sequence[models.QuerySet[Any]], *, bounds: Bounds) -> Page:
    """A page of the versions of several historical models, interleaved newest
    first: one page query, then one query per model on the page.

    Each queryset must be of a different historical model, filtered and scoped
    as the caller needs; its versions are loaded through it.

    Raises:
        BadKey: a cursor names a model none of the querysets is of.
    """
    by_label = {model_label(qs.model): qs for qs in querysets}
    if len(by_label) != len(querysets):
        raise ValueError("Each queryset of a feed must be of its own model.")
    _check_models(by_label, bounds)
    if not by_label:
        return Page([])
    labels = sorted(by_label)  # a label's rank breaks ties in the feed's order
    rows = _feed_keys(
        [by_label[label] for label in labels], labels=labels, bounds=bounds
    )
    loaded: dict[str, dict[Any, Any]] = {}
    for rank, label in enumerate(labels):
        ids = [history_id for row_rank, history_id in rows if row_rank == rank]
        if ids:
            loaded[label] = with_key(by_label[label].order_by()).in_bulk(ids)
    versions = [loaded[labels[rank]][history_id] for rank, history_id in rows]
    return bounds.page(versions)


def _feed_keys(
    querysets: list[models.QuerySet[Any]], *, labels: list[str], bounds: Bounds
) -> list[tuple[int, int]]:
    """(rank of model, history_id) of the page and one more, in the page
    query's order: `UNION ALL` of limited branches, ordered and limited."""
    backwards = bounds.backwards
    direction = "ASC" if backwards else "DESC"
    using = querysets[0].db
    branches: list[str] = []
    params: list[Any] = []
    for rank, queryset in enumerate(querysets):
        branch = _ordered(
            queryset.filter(_range(queryset.model, bounds, inclusive=bounds.start)),
            backwards=backwards,
        ).values_list(*OLDEST_FIRST)[: bounds.fetch]
        try:
            sql, branch_params = branch.query.get_compiler(using=using).as_sql()
        except EmptyResultSet:
            continue  # filtered to nothing (e.g. another model's object)
        branches.append(
            f"SELECT b{rank}.history_date AS d, {rank} AS m, "
            f"b{rank}.history_id AS i FROM ({sql}) b{rank}"
        )
        params.extend(branch_params)
    if not branches:
        return []
    sql = (
        f"SELECT m, i FROM ({' UNION ALL '.join(branches)}) feed "
        f"ORDER BY d {direction}, m {direction}, i {direction} LIMIT %s"
    )
    with connections[using].cursor() as cursor:
        cursor.execute(sql, [*params, bounds.fetch])
        return [(int(m), int(i)) for m, i in cursor.fetchall()]


def feed_total(querysets: Sequence[models.QuerySet[Any]]) -> int:
    """How many versions the querysets hold together: one COUNT per model."""
    return sum(queryset.count() for queryset in querysets)


def windowed_versions(
    queryset: models.QuerySet[Any], *, parent_field: str, bounds: Bounds
) -> models.QuerySet[Any]:
    """The versions of `queryset` on each parent's page, for a prefetch: one
    query for every parent, whatever their number.

    Each version carries its parent's whole count (cursors aside) and the count
    of its versions between the cursors, which `windowed_page` turns into the
    page's flags. Each parent also sends its newest version (marked out of
    range unless it is), so a parent whose page is empty has its counts too.

    The queryset's SQL numbers every version of the parents with windows. On
    PostgreSQL, its rows are read otherwise (`_ParentPages`): a `LATERAL`
    index range scan per parent, so that long histories cost no more than
    short ones.
    """
    _check_models([model_label(queryset.model)], bounds)
    if queryset.query.distinct:
        # A filter across a relation may match a version more than once:
        # each is numbered and counted once, by its id.
        joined: Any = queryset
        queryset = type(queryset)(
            model=queryset.model, using=joined._db, hints=joined._hints
        ).filter(pk__in=queryset.order_by().values("pk"))
    newest = [F(column.removeprefix("-")).desc() for column in NEWEST_FIRST]
    oldest = [F(column).asc() for column in OLDEST_FIRST]
    parent = [F(parent_field)]
    partition = [F(parent_field), F(_IN_RANGE)]
    within = _range(queryset.model, bounds)
    queryset = (
        with_key(queryset)
        .annotate(
            **{
                _IN_RANGE: (
                    Case(When(within, then=Value(1)), default=Value(0))
                    if within
                    else Value(1)
                ),
            }
        )
        .annotate(
            **{
                # The flag again, as a window: a filter on it runs after the counts.
                _IN_RANGE_ROW: Window(Min(_IN_RANGE), partition_by=partition),
                _POSITION: Window(RowNumber(), partition_by=partition, order_by=newest),
                _POSITION_FROM_END: Window(
                    RowNumber(), partition_by=partition, order_by=oldest
                ),
                _NEWEST: Window(RowNumber(), partition_by=parent, order_by=newest),
                _IN_RANGE_COUNT: Window(Sum(_IN_RANGE), partition_by=parent),
                _TOTAL: Window(Count("pk"), partition_by=parent),
            }
        )
    )
    on_page = Q(**{_IN_RANGE_ROW: 1})
    if bounds.first is not None:
        on_page &= Q(**{f"{_POSITION}__lte": bounds.first})
    elif bounds.last is not None:
        on_page &= Q(**{f"{_POSITION_FROM_END}__lte": bounds.last})
    windowed = queryset.filter(on_page | Q(**{_NEWEST: 1})).order_by(*NEWEST_FIRST)
    windowed._iterable_class = type(
        "ParentPages",
        (_ParentPages,),
        {"parent_field": parent_field, "bounds": bounds},
    )
    return windowed


class _ParentPages(ModelIterable):
    """Rows of a `windowed_versions` queryset. On PostgreSQL, once the prefetch
    has named the parents (`<parent>__in`), each parent's page is read by an
    index range scan of its own, and its counts from the index alone
    (`_ParentPagesQuery`), instead of windows over every version of every
    parent: the cost follows the pages, not the length of the histories.
    Elsewhere, or without that filter, the windows' query runs as it is."""

    parent_field: str
    bounds: Bounds

    def __iter__(self) -> Any:
        queryset = self.queryset
        parents = _parents_named(queryset.query, self.parent_field)
        if (
            parents is None
            or queryset.query.is_sliced
            or connections[queryset.db].vendor != "postgresql"
        ):
            yield from ModelIterable(queryset, self.chunked_fetch, self.chunk_size)
            return
        if not parents:
            return
        pages = _parent_pages(
            _without_windows(queryset, self.parent_field),
            parent_field=self.parent_field,
            bounds=self.bounds,
            parents=parents,
        )
        yield from ModelIterable(pages, self.chunked_fetch, self.chunk_size)


def _is_parents_filter(node: Any, parent_field: str) -> bool:
    return (
        isinstance(node, RelatedIn)
        and getattr(node.lhs, "target", None) is not None
        and node.lhs.target.attname == parent_field
        and node.rhs_is_direct_value()
    )


def _parents_named(query: Any, parent_field: str) -> list[Any] | None:
    """The values of the prefetch's `<parent>__in` filter, the one condition
    on the parent among the query's own (ANDed) conditions, or None."""
    if query.where.connector != "AND" or query.where.negated:
        return None
    found = [
        child
        for child in query.where.children
        if _is_parents_filter(child, parent_field)
    ]
    if len(found) != 1:
        return None
    return list(dict.fromkeys(found[0].rhs))


def _without_windows(
    queryset: models.QuerySet[Any], parent_field: str
) -> models.QuerySet[Any]:
    """A `windowed_versions` queryset as it was before its windows, with what
    the optimizer gave it since (`only`, `select_related`) and without the
    prefetch's filter on the parents."""
    query = queryset.query.clone()
    query.where.children = [
        child
        for child in query.where.children
        if not getattr(child, "contains_over_clause", False)
        and not _is_parents_filter(child, parent_field)
    ]
    for name in _WINDOWED:
        query.annotations.pop(name, None)
    if query.annotation_select_mask is not None:
        query.set_annotation_mask(set(query.annotation_select_mask) - _WINDOWED)
    plain = queryset.all()
    plain.query = query
    plain._iterable_class = ModelIterable
    return plain


def _parent_pages(
    base: models.QuerySet[Any],
    *,
    parent_field: str,
    bounds: Bounds,
    parents: list[Any],
) -> models.QuerySet[Any]:
    """Every parent's page of `base`'s versions (read through `with_key`) as
    `windowed_versions` gives them, newest first: the counts on every row, and
    each parent's newest version besides, marked out of range. A queryset of
    one parent's page, whose SQL reads every parent's (`_ParentPagesQuery`)."""
    model = base.model
    parent = RawSQL('"_parent"."id"', ())
    totals = {
        _IN_RANGE_COUNT: RawSQL(
            '"_counts"."in_range"', (), output_field=models.IntegerField()
        ),
        _TOTAL: RawSQL('"_counts"."total"', (), output_field=models.IntegerField()),
    }
    within = _range(model, bounds)
    own = base.filter(**{parent_field: parent})
    size = bounds.first if bounds.first is not None else bounds.last
    newest = own.annotate(**{_IN_RANGE: Value(0)}, **totals).order_by(*NEWEST_FIRST)[:1]
    parts = [newest]
    if size:  # (a slice of none is no query)
        page = (
            own.filter(within)
            .annotate(**{_IN_RANGE: Value(1)}, **totals)
            .order_by(*(OLDEST_FIRST if bounds.backwards else NEWEST_FIRST))[:size]
        )
        parts.insert(0, page)
    counts = (
        own.order_by()
        .values(parent_field)
        .annotate(
            total=Count("pk"),
            in_range=Count("pk", filter=within) if within else Count("pk"),
        )
        .values("total", "in_range")
    )
    query = parts[0].query.clone()
    query.__class__ = _ParentPagesQuery
    cast(_ParentPagesQuery, query).parts = (
        model._meta.get_field(parent_field.removesuffix("_id")),
        parents,
        counts.query,
        [part.query for part in parts[1:]],
    )
    pages = parts[0].all()
    pages.query = query
    return pages


class _ParentPagesQuery(Query):
    """One parent's page query (`_parent_pages`) whose SQL reads every
    parent's: `LATERAL` per parent, its counts, its page and its newest
    version. The columns are the page query's, so Django builds the instances
    (and their `select_related` objects) as for it."""

    # The parent's field, the parents, the counts' query and the queries of
    # the rows after this one's (their columns alike).
    parts: tuple[Any, list[Any], Query, list[Query]]

    def get_compiler(
        self, using: str | None = None, connection: Any = None, elide_empty: bool = True
    ) -> Any:
        compiler = super().get_compiler(using, connection, elide_empty)
        page_sql = compiler.as_sql

        def as_sql(*args: Any, **kwargs: Any) -> tuple[str, tuple[Any, ...]]:
            field, parents, counts, others = self.parts
            page, params = page_sql(*args, **kwargs)  # sets the columns up
            tally, tally_params = counts.get_compiler(
                connection=compiler.connection
            ).as_sql()
            rows = [f"({page})"]
            for other in others:
                sql, other_params = other.get_compiler(
                    connection=compiler.connection
                ).as_sql()
                rows.append(f"({sql})")
                params = (*params, *other_params)
            # Newest first, by the positions of the key's date and id.
            positions = {
                alias: index + 1
                for index, (_, _, alias) in enumerate(compiler.select)
                if alias is not None
            }
            assert self.model is not None
            pk = self.model._meta.pk
            id_at = 1 + next(
                index
                for index, (expression, _, _) in enumerate(compiler.select)
                if getattr(expression, "target", None) is pk
                and getattr(expression, "alias", None) == self.base_table
            )
            sql = (
                f'SELECT "_page".* FROM unnest(%s::'
                f'{field.db_type(compiler.connection)}[]) AS "_parent"("id") '
                f'CROSS JOIN LATERAL ({tally}) AS "_counts" '
                f'CROSS JOIN LATERAL ({" UNION ALL ".join(rows)}) AS "_page" '
                f"ORDER BY {positions[_DATE]} DESC, {id_at} DESC"
            )
            return sql, (parents, *tally_params, *params)

        compiler.as_sql = as_sql
        return compiler


def windowed_page(versions: list[Any], *, bounds: Bounds) -> Page:
    """One parent's page from the versions `windowed_versions` loaded for it."""
    if not versions:
        return Page([], total=0)
    # Every row carries its parent's counts.
    total = getattr(versions[0], _TOTAL)
    in_range = getattr(versions[0], _IN_RANGE_COUNT)
    versions = [v for v in versions if getattr(v, _IN_RANGE) == 1]
    # The parent's newest version rides along for the counts: in range, it is
    # on the page only if the page reaches it.
    if bounds.first is not None:
        versions = versions[: bounds.first]
    elif bounds.last is not None:
        versions = versions[max(len(versions) - bounds.last, 0) :]
    has_next = bounds.first is not None and in_range > bounds.first
    if bounds.first is not None and bounds.last is not None:
        has_previous = len(versions) > bounds.last
        versions = versions[len(versions) - bounds.last :]
    else:
        has_previous = bounds.last is not None and in_range > bounds.last
    # With one cursor, the versions out of range all lie beyond it: they tell
    # the flag on the cursor's side, as a single object's page does when it
    # reads from that cursor (`Bounds.page`).
    beyond = total > in_range and (bounds.after is None) != (bounds.before is None)
    if bounds.after is not None and not bounds.backwards:
        has_previous = has_previous or beyond
    elif beyond and bounds.before is not None and bounds.first is None:
        has_next = True
    return Page(versions, has_previous=has_previous, has_next=has_next, total=total)
