"""`manage.py checkpoint_history` and `generate_signing_key`, the key settings,
and `seed_demo --reset` wiping checkpoints."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from history.checkpoints import (
    chain_heads,
    checkpoint_document,
    latest_checkpoint,
    merkle_root,
    public_key,
    verify_document,
    write_checkpoint,
)
from history.models import Checkpoint
from history.signing import (
    new_private_key,
    private_key,
    private_key_text,
    public_key_text,
    sign,
    signature_valid,
    verify_key_setting,
)
from history.writes import tracked_create, tracked_update
from tests.helpers import command_help, manage_py
from tests.tracked.models import Note

KEY_VARIABLES = ("HISTORY_SIGNING_KEY", "HISTORY_VERIFY_KEY")


def run(name: str, *args: str, **options: Any) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(name, *args, stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


def notes() -> None:
    for title in ("First", "Second"):
        note = tracked_create(model=Note, data={"title": title}, actor=None)
        tracked_update(model=Note, pk=note.pk, data={"priority": 1}, actor=None)


# -- checkpoint_history ---------------------------------------------------------------


@pytest.mark.django_db
def test_it_prints_the_signed_statement_on_one_line_and_nothing_else() -> None:
    notes()

    out, err = run("checkpoint_history")

    assert err == ""
    assert out.endswith("\n")
    assert len(out.splitlines()) == 1
    line = json.loads(out)
    checkpoint = Checkpoint.objects.get()
    assert line == {
        "statement_text": checkpoint.statement,
        "signature": checkpoint.signature,
        "public_key": public_key(),
    }
    key = public_key()
    assert key is not None
    assert signature_valid(key, line["statement_text"], line["signature"])
    statement = json.loads(line["statement_text"])
    assert statement["root"] == merkle_root(chain_heads())
    assert (statement["versions"], statement["chains"]) == (4, 2)


@pytest.mark.django_db
def test_output_writes_the_whole_document_which_verifies(tmp_path: Path) -> None:
    notes()
    path = tmp_path / "checkpoint.json"

    out, _ = run("checkpoint_history", output=str(path))

    document = json.loads(path.read_text(encoding="utf-8"))
    checkpoint = latest_checkpoint()
    assert checkpoint is not None
    assert document == checkpoint_document(checkpoint)
    assert verify_document(document) == chain_heads()
    assert json.loads(out)["statement_text"] == document["statement_text"]
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.json"]


@pytest.mark.django_db
def test_output_replaces_an_older_file(tmp_path: Path) -> None:
    path = tmp_path / "checkpoint.json"
    run("checkpoint_history", "--output", str(path))
    notes()

    run("checkpoint_history", "--output", str(path))

    assert verify_document(json.loads(path.read_text())) == chain_heads()
    assert Checkpoint.objects.count() == 2


@pytest.mark.django_db
def test_an_output_that_cannot_be_written_is_refused_first(tmp_path: Path) -> None:
    path = tmp_path / "missing" / "checkpoint.json"

    with pytest.raises(CommandError, match=re.escape(f"Cannot write {path}: ")):
        run("checkpoint_history", output=str(path))

    assert not Checkpoint.objects.exists()


@pytest.mark.django_db
@override_settings(HISTORY_SIGNING_KEY="")
def test_it_refuses_without_a_signing_key(tmp_path: Path) -> None:
    path = tmp_path / "checkpoint.json"

    with pytest.raises(CommandError) as error:
        run("checkpoint_history", output=str(path))

    assert "HISTORY_SIGNING_KEY is not set" in str(error.value)
    assert "manage.py generate_signing_key" in str(error.value)
    assert not Checkpoint.objects.exists()
    assert not path.exists()


def test_a_process_without_a_key_exits_non_zero_naming_the_variable() -> None:
    result = manage_py("checkpoint_history", env={}, unset=KEY_VARIABLES)

    assert result.returncode != 0
    assert result.stdout == ""
    assert "HISTORY_SIGNING_KEY is not set" in result.stderr
    assert "manage.py generate_signing_key" in result.stderr


def test_the_help_says_what_it_prints() -> None:
    text = command_help("checkpoint_history")

    assert "--output FILE" in text
    assert "statement_text, signature, public_key" in text
    assert "HISTORY_SIGNING_KEY" in text


# -- keys -----------------------------------------------------------------------------


def test_generate_signing_key_prints_a_new_pair_for_env() -> None:
    first, _ = run("generate_signing_key")
    second, _ = run("generate_signing_key")

    lines = first.splitlines()
    assert [line.split("=", 1)[0] for line in lines] == list(KEY_VARIABLES)
    signing, verify = (line.split("=", 1)[1] for line in lines)
    assert verify_key_setting(signing, "") == verify
    assert signature_valid(verify, "text", sign(private_key(signing), "text"))
    assert first != second


def test_a_generated_key_is_what_the_settings_read() -> None:
    generated = manage_py("generate_signing_key", env={}, check=True).stdout
    env = dict(line.split("=", 1) for line in generated.splitlines())
    signing = env["HISTORY_SIGNING_KEY"]

    result = manage_py(
        "diffsettings",
        env={"HISTORY_SIGNING_KEY": signing},
        unset=["HISTORY_VERIFY_KEY"],
        check=True,
    )

    assert f"HISTORY_VERIFY_KEY = '{env['HISTORY_VERIFY_KEY']}'" in result.stdout


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"HISTORY_SIGNING_KEY": "nope"}, "HISTORY_SIGNING_KEY: The private key"),
        ({"HISTORY_VERIFY_KEY": "c2hvcnQ="}, "HISTORY_VERIFY_KEY: The public key is 5"),
        (
            {
                "HISTORY_SIGNING_KEY": private_key_text(new_private_key()),
                "HISTORY_VERIFY_KEY": public_key_text(new_private_key()),
            },
            "HISTORY_VERIFY_KEY is not the public key of HISTORY_SIGNING_KEY",
        ),
    ],
)
def test_a_malformed_key_stops_the_process_at_start(
    env: dict[str, str], message: str
) -> None:
    result = manage_py("generate_signing_key", env=env, unset=KEY_VARIABLES)

    assert result.returncode != 0
    assert message in result.stderr


def test_the_verify_key_defaults_to_the_signing_keys() -> None:
    key = new_private_key()
    signing, verify = private_key_text(key), public_key_text(key)

    assert verify_key_setting(signing, "") == verify
    assert verify_key_setting(signing, f" {verify}\n") == verify
    assert verify_key_setting("", verify) == verify
    assert verify_key_setting("", "") == ""
    with pytest.raises(ImproperlyConfigured, match="is not the public key"):
        verify_key_setting(signing, public_key_text(new_private_key()))
    with pytest.raises(
        ImproperlyConfigured, match="HISTORY_SIGNING_KEY: The private key is not base64"
    ):
        verify_key_setting("%%", "")


# -- seed_demo --reset -----------------------------------------------------------------


@pytest.mark.django_db
@override_settings(DEBUG=True)
def test_seed_demo_reset_wipes_the_checkpoints() -> None:
    run("seed_demo")
    write_checkpoint()
    write_checkpoint()

    run("seed_demo", reset=True)

    assert not Checkpoint.objects.exists()
    # The ids restart, as the rest of the demo's do.
    assert write_checkpoint().pk == 1
