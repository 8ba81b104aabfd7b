"""`python -m tests.bench`: run every bench and print the table (see the
package's docstring)."""

from __future__ import annotations

import os
import time

import django


def quiet_request_log() -> None:
    """Keep the app's log line per request (its cost is part of a request's)
    off the terminal, where the progress lines go; the HTTP client's own line
    per request is no part of what a request costs."""
    import logging

    logging.getLogger("httpx").setLevel(logging.WARNING)
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(open(os.devnull, "w"))  # noqa: SIM115


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    # The statement timeout and the request's database budget are guards, no
    # part of what anything costs: on a busy machine the default 5 s cancelled
    # the bench's own statements (generating B4's versions, dropping its
    # database). Set them to measure with them.
    os.environ.setdefault("DATABASE_STATEMENT_TIMEOUT_MS", "0")
    os.environ.setdefault("DATABASE_REQUEST_BUDGET_MS", "0")
    django.setup()

    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test.utils import setup_test_environment, teardown_test_environment

    from accounts.tokens import api_token_create
    from tests.bench import audit, reads, servers, writes
    from tests.bench.common import SKIPPED, Row, is_postgresql, print_table, progress

    started = time.perf_counter()
    quiet_request_log()
    setup_test_environment(debug=False)
    if connection.vendor != "sqlite":
        # A name of our own: a test run elsewhere may be using test_<name>.
        test_settings = connection.settings_dict.setdefault("TEST", {})
        test_settings["NAME"] = f"test_bench_{os.getpid()}"
    old_name = connection.settings_dict["NAME"]
    test_name = connection.creation.create_test_db(
        verbosity=0, autoclobber=True, serialize=False, keepdb=False
    )
    rows: list[Row] = []
    try:
        progress(f"database {connection.vendor} {test_name}; seeding")
        pks, editors = reads.seed()
        user = get_user_model().objects.create_superuser(
            "bench", "bench@example.com", None
        )
        token, _ = api_token_create(user=user, name="bench")
        progress(f"seeded {reads.PRODUCTS} products x {reads.VERSIONS} versions")
        rows += reads.bench_reads(token=token, pks=pks, actor=editors[0])
        progress("B1 done; B2")
        twin = writes.untracked_twin()
        rows.append(writes.bench_update(twin=twin, pks=pks, actor=editors[0]))
        progress("B2 done; B3")
        rows.append(writes.bench_import(twin=twin))
        if is_postgresql():
            progress("B3 done; B5 and B6")
            rows += servers.bench_servers(token=token)
            progress("B5 and B6 done; B4")
            rows += audit.bench_audit(
                token=token,
                product_pks=audit.product_pks_for_log(pks),
                user=editors[1],
            )
        else:
            rows += [Row(name, "", result=SKIPPED) for name in ("B4", "B5", "B6")]
    except BaseException:
        if rows:
            print("Unfinished; the rows measured so far:")
            print_table(rows)
        raise
    finally:
        progress("dropping the bench database")
        connection.creation.destroy_test_db(old_name, verbosity=0)
        teardown_test_environment()
    print()
    print(
        f"History API benchmarks: {connection.vendor}, django {django.get_version()}, "
        f"{time.perf_counter() - started:.0f} s in all"
    )
    print()
    print_table(rows)


if __name__ == "__main__":
    main()
