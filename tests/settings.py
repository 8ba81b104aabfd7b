"""Settings of the test suite: the project's, plus a tracked model that exists
only in the tests (`tests.tracked`)."""

from config.settings import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "tests.tracked"]  # noqa: F405
HISTORY_GRAPHQL_MODULES = [*HISTORY_GRAPHQL_MODULES, "tests.tracked.graphql"]  # noqa: F405
