"""Settings of the test suite: the project's, plus a tracked model that exists
only in the tests (`tests.tracked`)."""

from config.settings import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "tests.tracked"]  # noqa: F405
HISTORY_GRAPHQL_MODULES = [*HISTORY_GRAPHQL_MODULES, "tests.tracked.graphql"]  # noqa: F405

# A fixed signing key, so that prunes (which leave a signed checkpoint) and
# checkpoints run as in production; tests of a missing or wrong key override
# these. Never use this key anywhere else: it is public.
HISTORY_SIGNING_KEY = "d6985F1vsTPSr7OT9LcErXHrE7yRH0SGsMv7k/PRYtQ="
HISTORY_VERIFY_KEY = "urGLYpkrZ8rzELlwTsHvloTSjqarQ+9QlW84IsMRuPw="

# A second alias on the same database, as a read replica would be
# (`DATABASE_REPLICA_URL`); the router is off but in the tests of `replicas`,
# which turn it on and declare the alias.
# Without a pool: an idle pooled connection would keep the test database from
# being dropped at the end (Django closes the pool of the primary alias only).
_REPLICA_OPTIONS = {
    name: value
    for name, value in DATABASES["default"]["OPTIONS"].items()  # type: ignore[attr-defined]  # noqa: F405
    if name != "pool"
}
DATABASES = {
    **DATABASES,  # noqa: F405
    "replica": {
        **DATABASES["default"],  # noqa: F405
        "OPTIONS": _REPLICA_OPTIONS,
        "TEST": {"MIRROR": "default"},
    },
}
DATABASE_ROUTERS = []

# The GraphQL response cache is off for the suite, whose query-count guards
# count the statements of running each query (a cached answer runs none, and
# reading the data stamp is one more); its own tests switch it on, and
# GRAPHQL_RESPONSE_CACHE=1 runs the whole suite with it.
GRAPHQL_RESPONSE_CACHE = env_bool("GRAPHQL_RESPONSE_CACHE", default=False)  # noqa: F405
