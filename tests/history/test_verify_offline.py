"""`manage.py verify_history --export FILE --checkpoint FILE`: an export
verifies against a checkpoint document with no database at all; a forged
export, a checkpoint with a wrong signature or under another key, and an
incomplete export fail."""

from __future__ import annotations

import csv
import datetime
import io
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from config.startup import needs_database
from history.chains import content_hash
from history.signing import new_private_key, public_key_text
from products.services import product_update
from tests.helpers import manage_py
from tests.history.tampering import Trail, signed_trail

pytestmark = pytest.mark.django_db

# Nothing listens on port 1: any connection attempt fails at once.
NO_DATABASE = "postgres://postgres@127.0.0.1:1/nowhere"


@pytest.fixture
def trail() -> Trail:
    return signed_trail()


@pytest.fixture
def files(trail: Trail, tmp_path: Path) -> dict[str, Path]:
    """The trail exported (jsonl and CSV) and its checkpoint document."""
    paths = {
        "jsonl": tmp_path / "trail.jsonl",
        "csv": tmp_path / "trail.csv",
        "checkpoint": tmp_path / "checkpoint.json",
    }
    quiet = {"stdout": io.StringIO(), "stderr": io.StringIO()}
    call_command("checkpoint_history", output=str(paths["checkpoint"]), **quiet)
    call_command("export_history", output=str(paths["jsonl"]), **quiet)
    call_command("export_history", format="csv", output=str(paths["csv"]), **quiet)
    return paths


def verify_offline(
    export: Path, checkpoint: Path, *args: str, public_key: str | None = None
) -> tuple[int, list[str]]:
    """Run the offline verification in this process; exit status and lines."""
    out = io.StringIO()
    key = public_key or settings.HISTORY_VERIFY_KEY
    try:
        call_command(
            "verify_history",
            "--export",
            str(export),
            "--checkpoint",
            str(checkpoint),
            "--public-key",
            key,
            *args,
            stdout=out,
            stderr=io.StringIO(),
        )
        status = 0
    except SystemExit as exit_:
        status = int(exit_.code or 0)
    return status, out.getvalue().splitlines()


def rows_of(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def write_rows(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def product_rows(rows: list[dict[str, Any]], pk: int) -> list[dict[str, Any]]:
    return [
        r for r in rows if r["model"] == "products.product" and r["object_id"] == pk
    ]


def test_an_export_verifies_with_no_database_at_all(
    trail: Trail, files: dict[str, Path]
) -> None:
    for export in (files["jsonl"], files["csv"]):
        result = manage_py(
            "verify_history",
            "--export",
            str(export),
            "--checkpoint",
            str(files["checkpoint"]),
            "--public-key",
            settings.HISTORY_VERIFY_KEY,
            env={
                "DATABASE_URL": NO_DATABASE,
                "DJANGO_SETTINGS_MODULE": "tests.settings",
            },
        )

        assert result.returncode == 0, result.stderr
        assert result.stderr == ""
        lines = result.stdout.splitlines()
        assert lines[0].startswith(
            f"Checked {trail.chains} chains, {trail.versions} versions of the "
            f"export {export} against the checkpoint {files['checkpoint']} of "
        )
        assert lines[1] == "Every chain verifies."


def test_the_database_is_not_touched(
    files: dict[str, Path], django_assert_num_queries: Any
) -> None:
    with django_assert_num_queries(0):
        status, lines = verify_offline(files["jsonl"], files["checkpoint"])

    assert (status, lines[-1]) == (0, "Every chain verifies.")


def test_a_value_changed_in_the_content_fails_at_that_version(
    trail: Trail, files: dict[str, Path], tmp_path: Path
) -> None:
    rows = rows_of(files["jsonl"])
    forged = product_rows(rows, trail.lamp.pk)[2]
    forged["content"]["price"] = "0.01"
    forged["changes"] = {"price": ["21.00", "0.01"]}
    forged["content"]["history_changes"] = forged["changes"]

    status, lines = verify_offline(
        write_rows(tmp_path / "forged.jsonl", rows), files["checkpoint"]
    )

    assert status == 1
    assert lines[0] == (
        f"products.product {trail.lamp.pk} version={forged['history_id']} CHANGED: "
        "Its content no longer matches the hash it was sealed with."
    )
    assert lines[-1] == f"1 of {trail.chains} chains are broken."


def test_a_value_changed_and_rehashed_along_the_chain_fails_at_the_checkpoint(
    trail: Trail, files: dict[str, Path], tmp_path: Path
) -> None:
    rows = rows_of(files["jsonl"])
    lamp = product_rows(rows, trail.lamp.pk)
    lamp[1]["content"]["price"] = "0.01"
    previous = None
    for row in lamp:
        if previous is not None:
            row["prev_hash"] = previous
        row["hash"] = previous = content_hash(row["prev_hash"], row["content"])

    status, lines = verify_offline(
        write_rows(tmp_path / "rehashed.jsonl", rows), files["checkpoint"]
    )

    assert status == 1
    assert lines[0] == (
        f"products.product {trail.lamp.pk} version={lamp[-1]['history_id']} "
        "CHANGED: The chain no longer leads to the head the last checkpoint "
        "signed: it was rewritten at or before this version."
    )


def test_a_field_that_says_otherwise_than_the_content_fails(
    trail: Trail, files: dict[str, Path], tmp_path: Path
) -> None:
    rows = rows_of(files["jsonl"])
    forged = product_rows(rows, trail.mug.pk)[1]
    forged["reason"] = "Approved by the board"
    forged["user"] = "ceo"

    status, lines = verify_offline(
        write_rows(tmp_path / "forged.jsonl", rows), files["checkpoint"]
    )

    assert status == 1
    assert lines[0] == (
        f"products.product {trail.mug.pk} version={forged['history_id']} CHANGED: "
        "Its exported user, reason do not match the content it was sealed with."
    )


def test_a_row_left_out_fails_as_missing(
    trail: Trail, files: dict[str, Path], tmp_path: Path
) -> None:
    rows = rows_of(files["jsonl"])
    lamp = product_rows(rows, trail.lamp.pk)
    rows.remove(lamp[1])

    status, lines = verify_offline(
        write_rows(tmp_path / "short.jsonl", rows), files["checkpoint"]
    )

    assert status == 1
    assert lines[0].startswith(
        f"products.product {trail.lamp.pk} version={lamp[2]['history_id']} MISSING: "
    )
    assert lines[-1].startswith("The export lacks versions the checkpoint signed")


def test_a_forged_csv_export_fails(
    trail: Trail, files: dict[str, Path], tmp_path: Path
) -> None:
    with files["csv"].open(newline="") as file:
        rows = list(csv.DictReader(file))
    lamp = [r for r in rows if r["model"] == "products.product"]
    forged_row = next(r for r in lamp if r["object_id"] == str(trail.lamp.pk))
    content = json.loads(forged_row["content"])
    content["quantity"] = 30
    forged_row["content"] = json.dumps(content)
    forged = tmp_path / "forged.csv"
    with forged.open("w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)

    status, lines = verify_offline(forged, files["checkpoint"])

    assert status == 1
    assert lines[0] == (
        f"products.product {trail.lamp.pk} version={forged_row['history_id']} "
        "CHANGED: Its content no longer matches the hash it was sealed with."
    )


def test_a_checkpoint_under_another_key_fails(files: dict[str, Path]) -> None:
    other = public_key_text(new_private_key())

    status, lines = verify_offline(
        files["jsonl"], files["checkpoint"], public_key=other
    )

    assert status == 1
    assert lines == [
        f"The checkpoint {files['checkpoint']} does not verify: The signature does "
        f"not verify with the public key {other}: the statement was changed or "
        "signed with another key."
    ]


def test_a_checkpoint_with_a_wrong_signature_fails(
    files: dict[str, Path], tmp_path: Path
) -> None:
    document = json.loads(files["checkpoint"].read_text())
    signature = document["signature"]
    document["signature"] = (
        signature[:10] + ("A" if signature[10] != "A" else "B") + signature[11:]
    )
    forged = tmp_path / "forged-checkpoint.json"
    forged.write_text(json.dumps(document))

    status, lines = verify_offline(files["jsonl"], forged)

    assert status == 1
    assert len(lines) == 1
    assert "The signature does not verify" in lines[0]


def test_a_checkpoint_with_changed_heads_fails(
    trail: Trail, files: dict[str, Path], tmp_path: Path
) -> None:
    document = json.loads(files["checkpoint"].read_text())
    del document["heads"]["products.product"][str(trail.mug.pk)]
    forged = tmp_path / "forged-checkpoint.json"
    forged.write_text(json.dumps(document))

    status, lines = verify_offline(files["jsonl"], forged)

    assert status == 1
    assert "The heads give the Merkle root" in lines[0]


def test_versions_written_after_the_checkpoint_verify(
    trail: Trail, files: dict[str, Path], tmp_path: Path
) -> None:
    product_update(pk=trail.lamp.pk, data={"price": Decimal("99.00")}, actor=None)
    later = tmp_path / "later.jsonl"
    call_command(
        "export_history", output=str(later), stdout=io.StringIO(), stderr=io.StringIO()
    )

    status, lines = verify_offline(later, files["checkpoint"])

    assert (status, lines[-1]) == (0, "Every chain verifies.")


def test_an_export_of_one_model_verifies_against_its_heads(
    trail: Trail, files: dict[str, Path], tmp_path: Path
) -> None:
    products = tmp_path / "products.jsonl"
    call_command(
        "export_history",
        model="products.product",
        output=str(products),
        stdout=io.StringIO(),
        stderr=io.StringIO(),
    )

    status, lines = verify_offline(
        products, files["checkpoint"], "--model", "products.product"
    )
    assert (status, lines[-1]) == (0, "Every chain verifies.")
    assert lines[0].startswith("Checked 2 chains, 9 versions of the export")

    # Without --model, the chains of the other models are missing from it.
    status, lines = verify_offline(products, files["checkpoint"])
    assert status == 1
    assert lines[-1].startswith("The export lacks versions the checkpoint signed")


def test_an_export_filtered_by_date_is_reported_as_incomplete(
    trail: Trail, files: dict[str, Path], tmp_path: Path
) -> None:
    since = trail.lamp_versions[2].history_date.isoformat()
    partial = tmp_path / "since.jsonl"
    call_command(
        "export_history",
        since=since,
        output=str(partial),
        stdout=io.StringIO(),
        stderr=io.StringIO(),
    )

    status, lines = verify_offline(partial, files["checkpoint"])

    assert status == 1
    assert lines[-1] == (
        "The export lacks versions the checkpoint signed: an export made with "
        "--since, --until or --user is incomplete and cannot verify; export "
        "without them (--model is fine)."
    )


def test_one_object_of_an_export(trail: Trail, files: dict[str, Path]) -> None:
    status, lines = verify_offline(
        files["jsonl"],
        files["checkpoint"],
        "--model",
        "tracked.note",
        "--object",
        str(trail.note.pk),
    )

    assert status == 0
    assert lines[0].startswith("Checked 1 chain, 2 versions of the export")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json\n", "Line 1 is not JSON"),
        ('{"model": "products.product"}\n', "Line 1 has no hash, prev_hash, content"),
        ("model,object_id\nx,1\n", "The file is neither JSON lines nor a CSV"),
        (
            '{"hash": "", "prev_hash": "", "content": {"model": "auth.user"}}\n',
            "Row 1: 'auth.user' is not a tracked model",
        ),
    ],
)
def test_a_file_that_is_not_an_export_is_refused(
    files: dict[str, Path], tmp_path: Path, content: str, message: str
) -> None:
    export = tmp_path / "bad.jsonl"
    export.write_text(content)

    with pytest.raises(CommandError, match=message):
        verify_offline(export, files["checkpoint"])


def test_missing_files_are_refused(files: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="Cannot read"):
        verify_offline(tmp_path / "none.jsonl", files["checkpoint"])
    with pytest.raises(CommandError, match="Cannot read"):
        verify_offline(files["jsonl"], tmp_path / "none.json")
    with pytest.raises(CommandError, match="is not a JSON checkpoint document"):
        verify_offline(files["checkpoint"], files["jsonl"])


@pytest.mark.parametrize(
    ("argv", "checked"),
    [
        (["manage.py", "verify_history"], True),
        (["manage.py", "verify_history", "--model", "products.product"], True),
        (["manage.py", "verify_history", "--export", "f", "--checkpoint", "c"], False),
        (["manage.py", "verify_history", "--export=f", "--checkpoint=c"], False),
        (["manage.py", "export_history", "--export", "f"], True),
    ],
)
def test_only_the_offline_mode_runs_without_a_database(
    argv: list[str], checked: bool
) -> None:
    assert needs_database(argv) is checked


def test_the_export_dates_are_those_of_the_content(files: dict[str, Path]) -> None:
    for row in rows_of(files["jsonl"]):
        assert datetime.datetime.fromisoformat(row["date"]) == (
            datetime.datetime.fromisoformat(row["content"]["history_date"])
        )
