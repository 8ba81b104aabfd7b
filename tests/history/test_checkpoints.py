"""Signed checkpoints: the Merkle root over the chains' heads (known vectors),
the heads read from the database, and what the signature and the root
catch."""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
from decimal import Decimal
from typing import Any
from unittest import mock

import pytest
from django.db import connection, transaction
from django.test import override_settings
from django.utils import timezone

from history.chains import GENESIS
from history.checkpoints import (
    EMPTY_ROOT,
    ChainHead,
    CheckpointInvalid,
    SigningKeyMissing,
    VerifyKeyMissing,
    chain_heads,
    checkpoint_document,
    checkpoint_heads,
    heads_json,
    latest_checkpoint,
    merkle_root,
    public_key,
    signing_key,
    statement_text,
    verify_document,
    write_checkpoint,
)
from history.models import Checkpoint
from history.selectors import tracked_models
from history.signing import new_private_key, public_key_text, sign
from history.tracking import history_model_for
from history.writes import tracked_create, tracked_delete, tracked_update
from products.models import Product
from products.services import product_create, product_update
from tests.helpers import run_together
from tests.tracked.models import Note

HistoricalNote = Note.history.model
HistoricalProduct = Product.history.model
A, B, C = "a" * 64, "b" * 64, "c" * 64
OTHER_KEY = new_private_key()


def note_versions(count: int, title: str = "Note") -> Any:
    """A note with `count` versions."""
    note = tracked_create(model=Note, data={"title": title}, actor=None)
    for n in range(1, count):
        tracked_update(model=Note, pk=note.pk, data={"priority": n}, actor=None)
    return note


def stored_chain(history_model: Any, **filters: Any) -> list[Any]:
    return list(
        history_model.objects.filter(**filters).order_by("history_date", "history_id")
    )


# -- the Merkle tree ------------------------------------------------------------------


def rfc6962_root(leaves: list[bytes]) -> bytes:
    """RFC 6962's MTH, written from the RFC: split at the largest power of two
    smaller than the number of leaves."""
    if len(leaves) == 1:
        return leaves[0]
    split = 1
    while split * 2 < len(leaves):
        split *= 2
    left, right = rfc6962_root(leaves[:split]), rfc6962_root(leaves[split:])
    return hashlib.sha256(b"\x01" + left + right).digest()


def leaf(text: str) -> bytes:
    return hashlib.sha256(b"\x00" + text.encode()).digest()


def test_the_root_of_no_chains_is_the_hash_of_nothing() -> None:
    assert merkle_root({}) == EMPTY_ROOT
    assert EMPTY_ROOT == (
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )


def test_the_root_of_one_chain_is_its_leaf() -> None:
    heads = {("products.product", "1"): ChainHead(GENESIS, 2, A)}

    assert merkle_root(heads) == leaf(f"products.product\n1\n{GENESIS}\n2\n{A}").hex()
    assert merkle_root(heads) == (
        "dba02b4a8f14257c26900ebeea8109f3d42db2a4670515adb1334df92ee88820"
    )


def test_leaves_are_sorted_by_label_then_object_id_as_text() -> None:
    heads = {
        ("products.product", "2"): ChainHead(GENESIS, 2, B),
        ("products.product", "10"): ChainHead(B, 3, C),
        ("products.category", "7"): ChainHead(GENESIS, 1, A),
    }
    first = leaf(f"products.category\n7\n{GENESIS}\n1\n{A}")
    second = leaf(f"products.product\n10\n{B}\n3\n{C}")
    third = leaf(f"products.product\n2\n{GENESIS}\n2\n{B}")
    pair = hashlib.sha256(b"\x01" + first + second).digest()

    # The odd third leaf is promoted and joins the pair above it.
    assert merkle_root(heads) == hashlib.sha256(b"\x01" + pair + third).hexdigest()
    assert merkle_root(heads) == (
        "e4cad0ae101ad6021f7fcf310e154557b2d259fe409d8c9b9b4dd1924e1a36a6"
    )


@pytest.mark.parametrize("count", range(1, 18))
def test_the_root_is_rfc_6962s_for_any_number_of_chains(count: int) -> None:
    heads = {
        ("tracked.note", f"{n:03}"): ChainHead(GENESIS, n + 1, f"{n:064x}")
        for n in range(count)
    }
    leaves = [
        leaf(f"tracked.note\n{oid}\n{head.base}\n{head.length}\n{head.head}")
        for (_, oid), head in sorted(heads.items())
    ]

    assert merkle_root(heads) == rfc6962_root(leaves).hex()


@pytest.mark.parametrize(
    "change",
    [
        {"base": B},
        {"length": 3},
        {"head": C},
    ],
)
def test_any_change_to_a_chain_changes_the_root(change: dict[str, Any]) -> None:
    chain = ChainHead(GENESIS, 2, A)
    heads = {("tracked.note", "1"): chain, ("tracked.note", "2"): chain}
    changed = {**heads, ("tracked.note", "2"): ChainHead(**{**vars(chain), **change})}

    assert merkle_root(changed) != merkle_root(heads)


def test_the_ed25519_signature_is_rfc_8032s() -> None:
    """RFC 8032, section 7.1, test 1 (the empty message)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.from_private_bytes(
        bytes.fromhex(
            "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
        )
    )

    assert base64.b64decode(sign(key, "")) == bytes.fromhex(
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
        "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
    )
    assert base64.b64decode(public_key_text(key)) == bytes.fromhex(
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
    )


# -- the heads in the database -------------------------------------------------------


@pytest.mark.django_db
def test_chain_heads_hold_each_objects_base_length_and_newest_hash(
    django_assert_num_queries: Any,
) -> None:
    first = note_versions(3, "First")
    second = note_versions(1, "Second")
    tracked_delete(model=Note, pk=second.pk, actor=None)
    lamp = product_create(data={"name": "Lamp", "price": Decimal("1.00")}, actor=None)
    product_update(pk=lamp.pk, data={"price": Decimal("2.00")}, actor=None)

    with django_assert_num_queries(1):  # one snapshot of every model
        heads = chain_heads()

    first_chain = stored_chain(HistoricalNote, id=first.pk)
    second_chain = stored_chain(HistoricalNote, id=second.pk)
    lamp_chain = stored_chain(HistoricalProduct, id=lamp.pk)
    assert heads == {
        ("tracked.note", str(first.pk)): ChainHead(
            GENESIS, 3, first_chain[-1].history_hash
        ),
        # A deleted object's chain is kept, its deletion included.
        ("tracked.note", str(second.pk)): ChainHead(
            GENESIS, 2, second_chain[-1].history_hash
        ),
        ("products.product", str(lamp.pk)): ChainHead(
            GENESIS, 2, lamp_chain[-1].history_hash
        ),
    }
    assert chain_heads(models=[Note]) == {
        key: head for key, head in heads.items() if key[0] == "tracked.note"
    }


@pytest.mark.django_db
def test_chain_heads_follow_the_dates_not_the_history_ids() -> None:
    """A chain is in (date, history id) order: the base is the previous hash of
    the version dated first, the head the hash of the one dated last."""
    note = tracked_create(model=Note, data={"title": "Later"}, actor=None)
    earlier = timezone.now() - datetime.timedelta(days=1)
    with mock.patch("django.utils.timezone.now", return_value=earlier):
        tracked_update(model=Note, pk=note.pk, data={"priority": 1}, actor=None)
    written_first, written_second = HistoricalNote.objects.order_by("history_id")
    assert written_second.history_date < written_first.history_date

    assert chain_heads([Note]) == {
        ("tracked.note", str(note.pk)): ChainHead(
            written_second.history_prev_hash, 2, written_first.history_hash
        )
    }


@pytest.mark.django_db
def test_no_versions_no_chains() -> None:
    assert chain_heads() == {}
    assert write_checkpoint().root == EMPTY_ROOT


# -- writing ------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_checkpoint_signs_a_statement_of_the_heads() -> None:
    note_versions(2)
    product_create(data={"name": "Lamp", "price": Decimal("1.00")}, actor=None)
    heads = chain_heads()
    before = timezone.now()

    checkpoint = write_checkpoint()

    statement = json.loads(checkpoint.statement)
    assert statement == {
        "format": 1,
        "kind": "checkpoint",
        "created_at": checkpoint.created_at.astimezone(datetime.UTC).isoformat(
            timespec="microseconds"
        ),
        "versions": 3,
        "chains": 2,
        "root": merkle_root(heads),
        "previous": "",
        "pruned": None,
    }
    assert statement["created_at"].endswith("+00:00")
    assert before <= checkpoint.created_at <= timezone.now()
    # The exact text signed: compact JSON, keys sorted.
    assert checkpoint.statement == json.dumps(
        statement, sort_keys=True, separators=(",", ":")
    )
    assert (checkpoint.kind, checkpoint.versions, checkpoint.chains) == (
        "checkpoint",
        3,
        2,
    )
    assert (checkpoint.root, checkpoint.previous) == (merkle_root(heads), "")
    assert checkpoint.heads == heads_json(heads)
    assert checkpoint.public_key == public_key()
    assert checkpoint.pruned is None
    assert checkpoint_heads(checkpoint) == heads


@pytest.mark.django_db
def test_each_checkpoint_links_to_the_previous_ones_statement() -> None:
    first = write_checkpoint()
    note_versions(1)
    second = write_checkpoint()

    assert first.previous == ""
    assert second.previous == hashlib.sha256(first.statement.encode()).hexdigest()
    assert json.loads(second.statement)["previous"] == second.previous
    assert latest_checkpoint() == second
    assert (first.versions, second.versions) == (0, 1)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("", "HISTORY_SIGNING_KEY is not set"),
        ("   ", "HISTORY_SIGNING_KEY is not set"),
        ("not a key!", "HISTORY_SIGNING_KEY: The private key is not base64."),
        ("c2hvcnQ=", "HISTORY_SIGNING_KEY: The private key is 5 bytes, not 32."),
    ],
)
def test_no_usable_signing_key_writes_nothing(key: str, message: str) -> None:
    note_versions(1)

    with (
        override_settings(HISTORY_SIGNING_KEY=key),
        pytest.raises(SigningKeyMissing) as error,
    ):
        write_checkpoint()

    assert message in str(error.value)
    assert "manage.py generate_signing_key" in str(error.value)
    assert not Checkpoint.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("kind", "pruned"),
    [
        ("weekly", None),
        ("prune", None),
        ("checkpoint", {"model": "tracked.note", "cutoff": "x", "count": 1}),
        ("prune", {"model": "tracked.note", "count": 1}),
    ],
)
def test_kind_and_pruned_go_together(kind: str, pruned: Any) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - the message varies
        write_checkpoint(kind=kind, pruned=pruned)

    assert not Checkpoint.objects.exists()


def held_locks() -> set[tuple[str, str]]:
    """The table locks this connection holds, other than ACCESS SHARE."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, l.mode FROM pg_locks l "
            "JOIN pg_class c ON c.oid = l.relation "
            "WHERE l.pid = pg_backend_pid() AND l.mode <> 'AccessShareLock'"
        )
        return set(cursor.fetchall())


def update_with_lock_timeout(pk: Any) -> Any:
    """A tracked update on a connection of its own that gives up after a while
    instead of waiting for a lock forever."""
    with connection.cursor() as cursor:
        cursor.execute("SET lock_timeout = '5s'")
    return tracked_update(model=Note, pk=pk, data={"priority": 9}, actor=None)


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL locks")
def test_checkpoints_take_turns_and_tracked_writes_never_wait_for_one() -> None:
    """The checkpoint table is locked against other checkpoints until the
    transaction ends; no history table is locked, so a tracked write from
    another connection goes through meanwhile."""
    note = note_versions(1)

    with transaction.atomic():
        checkpoint = write_checkpoint()
        held = held_locks()
        [written] = run_together(lambda: update_with_lock_timeout(note.pk))

    assert ("history_checkpoint", "ShareRowExclusiveLock") in held
    history_tables = {
        history_model_for(model)._meta.db_table for model in tracked_models()
    }
    assert not {table for table, _ in held} & history_tables
    assert not isinstance(written, Exception), written
    assert checkpoint.versions == 1
    assert HistoricalNote.objects.count() == 2


# -- verifying ------------------------------------------------------------------------


@pytest.fixture
def document(db: None) -> dict[str, Any]:
    note_versions(2, "First")
    note_versions(3, "Second")
    return checkpoint_document(write_checkpoint())


def signed(statement: dict[str, Any], heads: Any) -> dict[str, Any]:
    """A document signed with the tests' key, whatever it says."""
    text = statement_text(statement)
    return {
        "statement": statement,
        "statement_text": text,
        "signature": sign(signing_key(), text),
        "public_key": public_key(),
        "heads": heads,
    }


def test_a_document_verifies_with_the_right_key(document: dict[str, Any]) -> None:
    heads = verify_document(document)

    assert heads == chain_heads()
    assert verify_document(document, public_key=public_key()) == heads
    assert document["statement"] == json.loads(document["statement_text"])
    assert set(document) == {
        "statement",
        "statement_text",
        "signature",
        "public_key",
        "heads",
    }


def test_a_document_read_back_from_json_verifies(document: dict[str, Any]) -> None:
    assert verify_document(json.loads(json.dumps(document))) == chain_heads()


def test_another_key_does_not_verify_it(document: dict[str, Any]) -> None:
    with pytest.raises(CheckpointInvalid, match="signature does not verify"):
        verify_document(document, public_key=public_key_text(OTHER_KEY))


def test_a_document_signed_with_another_key_does_not_verify(
    document: dict[str, Any],
) -> None:
    """Even when it carries its own (matching) public key: that key is the
    forger's choice, never trusted."""
    forged = {
        **document,
        "signature": sign(OTHER_KEY, document["statement_text"]),
        "public_key": public_key_text(OTHER_KEY),
    }

    with pytest.raises(CheckpointInvalid, match="signature does not verify"):
        verify_document(forged)


@override_settings(HISTORY_VERIFY_KEY="")
def test_no_trusted_key_is_refused(document: dict[str, Any]) -> None:
    assert public_key() is None
    with pytest.raises(VerifyKeyMissing, match="set HISTORY_VERIFY_KEY"):
        verify_document(document)


def test_a_changed_statement_text_breaks_the_signature(
    document: dict[str, Any],
) -> None:
    statement = {**document["statement"], "versions": 4}
    changed = {
        **document,
        "statement": statement,
        "statement_text": statement_text(statement),
    }

    with pytest.raises(CheckpointInvalid, match="signature does not verify"):
        verify_document(changed)


def test_a_statement_that_is_not_the_signed_text_is_refused(
    document: dict[str, Any],
) -> None:
    changed = {**document, "statement": {**document["statement"], "versions": 4}}

    with pytest.raises(CheckpointInvalid, match="does not match the signed"):
        verify_document(changed)


@pytest.mark.parametrize("field", [0, 1, 2])
def test_changed_heads_do_not_give_the_signed_root(
    document: dict[str, Any], field: int
) -> None:
    heads = json.loads(json.dumps(document["heads"]))
    chain = next(iter(heads["tracked.note"].values()))
    chain[field] = 7 if field == 1 else "f" * 64

    with pytest.raises(CheckpointInvalid, match="not the signed"):
        verify_document({**document, "heads": heads})


def test_a_chain_left_out_of_the_heads_is_caught(document: dict[str, Any]) -> None:
    heads = json.loads(json.dumps(document["heads"]))
    heads["tracked.note"].popitem()

    with pytest.raises(CheckpointInvalid, match="Merkle root"):
        verify_document({**document, "heads": heads})


def test_counts_that_do_not_match_the_heads_are_caught(
    document: dict[str, Any],
) -> None:
    statement = {**document["statement"], "versions": 6}

    with pytest.raises(CheckpointInvalid, match="hold 5 versions in 2 chains"):
        verify_document(signed(statement, document["heads"]))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"statement_text": None}, "must be strings"),
        ({"signature": 12}, "must be strings"),
        ({"signature": "bm90IGEgc2lnbmF0dXJl"}, "signature does not verify"),
        ({"signature": "%%%"}, "signature does not verify"),
        ({"heads": []}, "heads is not an object"),
        ({"heads": {"tracked.note": [1]}}, "heads of tracked.note is not an object"),
        ({"heads": {"tracked.note": {"1": ["0" * 64, 1]}}}, "not [base, length, head]"),
        ({"heads": {"tracked.note": {"1": ["0", 1, "0" * 64]}}}, "the base of"),
        ({"heads": {"tracked.note": {"1": ["0" * 64, 0, "0" * 64]}}}, "length of"),
        ({"heads": {"tracked.note": {"1": ["0" * 64, True, "0" * 64]}}}, "length of"),
        ({"heads": {"tracked.note": {"1": ["0" * 64, 1, "G" * 64]}}}, "head hash of"),
    ],
)
def test_a_malformed_document_is_refused_with_the_reason(
    document: dict[str, Any], change: dict[str, Any], message: str
) -> None:
    with pytest.raises(CheckpointInvalid) as error:
        verify_document({**document, **change})

    assert message in str(error.value)


@pytest.mark.parametrize("key", ["statement", "statement_text", "signature", "heads"])
def test_a_document_missing_a_part_is_refused(
    document: dict[str, Any], key: str
) -> None:
    partial = {k: v for k, v in document.items() if k != key}

    with pytest.raises(CheckpointInvalid, match=f"Bad checkpoint: no {key}"):
        verify_document(partial)


@pytest.mark.parametrize(
    ("statement", "message"),
    [
        ("[]", "a statement has the keys"),
        ('{"format": 1}', "a statement has the keys"),
    ],
)
def test_a_signed_text_that_is_no_statement_is_refused(
    document: dict[str, Any], statement: str, message: str
) -> None:
    forged = {
        **document,
        "statement": json.loads(statement),
        "statement_text": statement,
        "signature": sign(signing_key(), statement),
    }

    with pytest.raises(CheckpointInvalid, match=message):
        verify_document(forged)


def test_a_statement_of_another_format_is_refused(document: dict[str, Any]) -> None:
    statement = {**document["statement"], "format": 2}

    with pytest.raises(CheckpointInvalid, match="Unknown checkpoint format 2"):
        verify_document(signed(statement, document["heads"]))


def test_a_document_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(CheckpointInvalid, match="not a JSON object"):
        verify_document([], public_key=public_key())  # type: ignore[arg-type]


@pytest.mark.django_db
def test_checkpoint_heads_refuses_a_stored_checkpoint_whose_heads_were_changed() -> (
    None
):
    note_versions(2)
    checkpoint = write_checkpoint()
    label, chains = next(iter(checkpoint.heads.items()))
    oid = next(iter(chains))
    checkpoint.heads[label][oid][1] = 1

    with pytest.raises(CheckpointInvalid, match="Merkle root"):
        checkpoint_heads(checkpoint)
