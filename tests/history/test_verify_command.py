"""`manage.py verify_history` in the database: a clean trail verifies (exit
status 0); every kind of tampering done through raw SQL is caught at the
version where it happened, with its kind, and the chains left alone verify
(exit status 1); a checkpoint that does not hold is a failure; a pruned trail
still verifies."""

from __future__ import annotations

import datetime
import io
from decimal import Decimal
from typing import Any
from unittest import mock

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from history.checkpoints import write_checkpoint
from history.models import Checkpoint
from history.retention import history_prune
from products.models import Product
from products.services import product_create, product_update
from tests.helpers import command_help
from tests.history.tampering import (
    FORGED_PRICE,
    TAMPERINGS,
    Trail,
    delete_versions,
    set_columns,
    signed_trail,
    tamper,
    tamper_with,
    versions_of,
)
from tests.history.test_export_command import Terminal

pytestmark = pytest.mark.django_db


def verify(*args: str, stderr: io.StringIO | None = None) -> tuple[int, list[str]]:
    """Run the command; its exit status and the lines it printed."""
    out = io.StringIO()
    try:
        call_command(
            "verify_history", *args, stdout=out, stderr=stderr or io.StringIO()
        )
        status = 0
    except SystemExit as exit_:
        status = int(exit_.code or 0)
    return status, out.getvalue().splitlines()


def summary(trail: Trail, *, chains: int, versions: int, models: str) -> str:
    moment = trail.checkpoint.created_at.astimezone(datetime.UTC)
    chains_ = f"{chains} chain{'s' if chains != 1 else ''}"
    return (
        f"Checked {chains_}, {versions} versions of {models} against "
        f"checkpoint {trail.checkpoint.pk} of {moment.isoformat(timespec='seconds')}."
    )


ALL_MODELS = "products.category, products.product, tracked.note"


@pytest.fixture
def trail() -> Trail:
    return signed_trail()


def test_a_clean_trail_verifies_with_exit_status_0(trail: Trail) -> None:
    status, lines = verify()

    assert status == 0
    assert lines == [
        summary(trail, chains=trail.chains, versions=trail.versions, models=ALL_MODELS),
        "Every chain verifies.",
    ]


def test_without_a_checkpoint_the_chains_verify_on_their_own() -> None:
    lamp = product_create(data={"name": "Lamp", "price": Decimal("2.00")}, actor=None)
    product_update(pk=lamp.pk, data={"quantity": 2}, actor=None)

    status, lines = verify()

    assert status == 0
    assert lines == [
        f"Checked 1 chain, 2 versions of {ALL_MODELS} with no checkpoint.",
        "Every chain verifies.",
    ]


@pytest.mark.parametrize("how", TAMPERINGS)
def test_each_tampering_is_caught_at_its_version_and_the_rest_verifies(
    trail: Trail, how: str
) -> None:
    kind, history_id = tamper_with(how, trail.lamp_versions, value=FORGED_PRICE)

    status, lines = verify()

    assert status == 1
    assert len(lines) == 3
    assert lines[0].startswith(
        f"products.product {trail.lamp.pk} version={history_id} {kind.value}: "
    )
    assert lines[2] == f"1 of {trail.chains} chains are broken."


def test_every_broken_chain_gets_its_line(trail: Trail) -> None:
    lamp = trail.lamp_versions
    mug = trail.mug_versions
    set_columns(lamp[0], name="Forged")
    delete_versions(mug[1])

    status, lines = verify("--model", "products.product")

    assert status == 1
    assert lines == [
        f"products.product {trail.lamp.pk} version={lamp[0].history_id} CHANGED: "
        "Its content no longer matches the hash it was sealed with.",
        f"products.product {trail.mug.pk} version={mug[2].history_id} MISSING: "
        "The version it links to is not stored: it was deleted, or replaced by "
        "one with other content.",
        summary(trail, chains=2, versions=8, models="products.product"),
        "2 of 2 chains are broken.",
    ]


def test_a_chain_gone_altogether_is_truncated(trail: Trail) -> None:
    delete_versions(*trail.mug_versions)

    status, lines = verify()

    assert status == 1
    assert lines[0] == (
        f"products.product {trail.mug.pk} version=- TRUNCATED: All 4 versions the "
        "last checkpoint signed are gone."
    )
    assert lines[1] == summary(
        trail, chains=trail.chains, versions=trail.versions - 4, models=ALL_MODELS
    )


def test_versions_written_after_the_checkpoint_verify(trail: Trail) -> None:
    product_update(pk=trail.lamp.pk, data={"quantity": 9}, actor=None)
    late = product_create(data={"name": "Late", "price": Decimal("1.00")}, actor=None)

    status, lines = verify("--model", "products.product")

    assert status == 0
    assert lines[0] == summary(trail, chains=3, versions=11, models="products.product")
    assert late.pk > trail.mug.pk


def test_one_object_is_checked_alone(trail: Trail) -> None:
    set_columns(trail.mug_versions[0], name="Forged")

    status, lines = verify(
        "--model", "products.product", "--object", str(trail.lamp.pk)
    )
    assert (status, lines[-1]) == (0, "Every chain verifies.")
    assert lines[0] == summary(trail, chains=1, versions=5, models="products.product")

    status, lines = verify("--model", "Products.Product", "--object", str(trail.mug.pk))
    assert status == 1
    assert lines[0].startswith(f"products.product {trail.mug.pk} version=")


def test_a_checkpoint_whose_signature_fails_is_a_failure(trail: Trail) -> None:
    forged = trail.checkpoint.statement.replace('"versions":13', '"versions":12')
    assert forged != trail.checkpoint.statement
    tamper(
        "UPDATE history_checkpoint SET statement = %s WHERE id = %s",
        [forged, trail.checkpoint.pk],
    )

    status, lines = verify()

    assert status == 1
    assert lines[0].startswith(
        f"Checkpoint {trail.checkpoint.pk} does not verify: The signature does not "
        "verify with the public key"
    )
    assert lines[-1] != "Every chain verifies."


def test_a_checkpoint_whose_heads_were_changed_is_a_failure(trail: Trail) -> None:
    checkpoint = Checkpoint.objects.get()
    heads = checkpoint.heads
    label = heads["products.product"]
    label[str(trail.lamp.pk)][1] = 4  # pretend the lamp had one version less
    tamper(
        "UPDATE history_checkpoint SET heads = %s WHERE id = %s",
        [_json(heads), checkpoint.pk],
    )

    status, lines = verify("--quiet")

    assert status == 1
    assert len(lines) == 1
    assert "The heads give the Merkle root" in lines[0]


def test_with_no_verify_key_the_checkpoint_fails(trail: Trail, settings: Any) -> None:
    settings.HISTORY_VERIFY_KEY = ""
    settings.HISTORY_SIGNING_KEY = ""

    status, lines = verify("--quiet")

    assert status == 1
    assert lines == [
        f"Checkpoint {trail.checkpoint.pk} does not verify: No public key to verify "
        "the checkpoint against: set HISTORY_VERIFY_KEY (the document's own key "
        "proves nothing)."
    ]


def test_quiet_prints_only_what_is_broken(trail: Trail) -> None:
    assert verify("--quiet") == (0, [])

    tamper_with("edit a value", trail.lamp_versions, value=FORGED_PRICE)

    status, lines = verify("--quiet")
    assert status == 1
    assert len(lines) == 1


def test_a_pruned_trail_still_verifies_and_tampering_after_it_is_caught() -> None:
    long_ago = timezone.now() - datetime.timedelta(days=60)
    with mock.patch("django.utils.timezone.now", return_value=long_ago):
        lamp = product_create(
            data={"name": "Lamp", "price": Decimal("20.00")}, actor=None
        )
        product_update(pk=lamp.pk, data={"price": Decimal("21.00")}, actor=None)
    product_update(pk=lamp.pk, data={"price": Decimal("22.00")}, actor=None)
    product_update(pk=lamp.pk, data={"price": Decimal("23.00")}, actor=None)
    write_checkpoint()

    result = history_prune(
        model=Product, cutoff=timezone.now() - datetime.timedelta(days=30)
    )

    assert result.count == 2
    assert result.checkpoint is not None
    kept = versions_of(lamp)
    assert len(kept) == 2
    assert kept[0].history_prev_hash != "0" * 64
    status, lines = verify()
    assert status == 0, lines
    assert lines[0].startswith(
        f"Checked 1 chain, 2 versions of {ALL_MODELS} against checkpoint "
        f"{result.checkpoint.pk} of "
    )

    delete_versions(kept[0])
    status, lines = verify("--quiet")
    assert status == 1
    assert lines == [
        f"products.product {lamp.pk} version={kept[1].history_id} MISSING: The "
        "version it links to is not stored: it was deleted, or replaced by one "
        "with other content."
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--model", "products.tag"), "No tracked model named 'products.tag'"),
        (("--object", "1"), "--object needs --model"),
        (("--model", "products.product", "--object", "x"), "'x' is not an id of"),
        (
            ("--model", "products.product", "--object", "999"),
            "No version of products.product 999 is stored",
        ),
        (("--export", "trail.jsonl"), "--export and --checkpoint go together"),
        (("--public-key", "abc"), "--public-key is for --export"),
    ],
)
def test_bad_arguments_are_refused_plainly(
    trail: Trail, args: tuple[str, ...], message: str
) -> None:
    with pytest.raises(CommandError, match=message):
        verify(*args)


def test_a_terminal_gets_a_progress_bar(trail: Trail) -> None:
    terminal = Terminal()

    verify(stderr=terminal)

    assert f"{trail.versions}/{trail.versions} [" in terminal.getvalue()
    assert "versions/s" in terminal.getvalue()


def test_help_explains_the_command() -> None:
    text = command_help("verify_history")

    for part in (
        "--model NAME",
        "--object ID",
        "--quiet",
        "--export FILE",
        "--checkpoint FILE",
        "--public-key KEY",
        "exits with status 1",
        "CHANGED, MISSING, INSERTED, REORDERED or TRUNCATED",
        "with no database",
        "reported as incomplete",
    ):
        assert part in text


def _json(value: Any) -> str:
    import json

    return json.dumps(value)
