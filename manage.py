#!/usr/bin/env python
"""Django's command-line utility."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from django.core.management import execute_from_command_line

    from config.startup import database_problem, needs_database

    if needs_database(sys.argv):
        problem = database_problem()
        if problem:
            sys.exit(problem)  # one line on stderr, exit status 1
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
