"""Django settings, read from the environment.

Every setting that differs between machines comes from an environment variable;
`.env.example` lists them. `SECRET_KEY` is required unless `DJANGO_DEBUG` is on.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from dotenv import load_dotenv

from history.signing import verify_key_setting

BASE_DIR = Path(__file__).resolve().parent.parent

# A `.env` file at the project root fills in variables the environment lacks.
load_dotenv(BASE_DIR / ".env", override=False)


def env_bool(name: str, default: bool = False) -> bool:
    """Read a boolean environment variable ("1", "true", "yes", "on" are true)."""
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    """Read a comma-separated environment variable."""
    return [
        item.strip()
        for item in os.environ.get(name, default).split(",")
        if item.strip()
    ]


DEBUG = env_bool("DJANGO_DEBUG", default=False)

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off (see .env.example)."
        )
    SECRET_KEY = "insecure-development-key-do-not-use-in-production"

ALLOWED_HOSTS = env_list(
    "DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver" if DEBUG else ""
)
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

# Reverse proxies whose X-Forwarded-For is believed: comma-separated IPs or CIDR
# networks (malformed entries are ignored); none by default, so the header is
# ignored and versions record the connecting address. See
# `history.context.client_address` for the whole rule.
TRUSTED_PROXIES = env_list("DJANGO_TRUSTED_PROXIES")
# The peers uvicorn itself lets rewrite the client address from X-Forwarded-For
# (it reads the same variable before the app loads; loopback by default). The
# app reads it only to recognise a rewritten address and name the real peer.
FORWARDED_ALLOW_IPS = env_list("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    # Before simple_history: its `clean_duplicate_history` and
    # `clean_old_history` commands are replaced by refusing ones of the same
    # name (Django runs the first app's command).
    "history",
    "simple_history",
    "strawberry_django",
    "axes",
    "accounts",
    "products",
    "replicas",
    "schema",
    "web",
    "responsecache",
]

# Modules the GraphQL layer imports to declare the types of tracked models.
HISTORY_GRAPHQL_MODULES = ["schema.catalog"]

MIDDLEWARE = [
    "history.middleware.RequestIdMiddleware",
    "history.request_log.RequestLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.middleware.BearerTokenMiddleware",
    "accounts.middleware.SessionCsrfViewMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # After authentication: see `replicas.middleware`.
    "replicas.middleware.ReplicaMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
]

# Axes first: it refuses a throttled login before any password is checked. The
# standalone backend only authenticates; permissions stay with ours (one query).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "accounts.auth.ModelBackend",
]

ROOT_URLCONF = "config.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

ASGI_APPLICATION = "config.asgi.application"


# The time budget of one SQL statement on PostgreSQL, in milliseconds (0: none).
# A statement that overruns it is cancelled and answered as a `TIMEOUT` error.
# SQLite has no statement timeout: there the budget does not apply.
DATABASE_STATEMENT_TIMEOUT_MS = int(
    os.environ.get("DATABASE_STATEMENT_TIMEOUT_MS", "5000")
)
# The most time one GraphQL request may spend in the database, over all its
# statements (each bounded by the statement timeout above); 0: no total.
DATABASE_REQUEST_BUDGET_MS = int(os.environ.get("DATABASE_REQUEST_BUDGET_MS", "10000"))


def database_config(
    url: str, *, statement_timeout_ms: int = DATABASE_STATEMENT_TIMEOUT_MS
) -> dict[str, object]:
    """Build the default database from a URL, tuned for concurrent ASGI requests.

    On PostgreSQL every connection (pooled or not) starts with
    `statement_timeout` set to `statement_timeout_ms` (0 leaves it unlimited);
    SQLite has no statement timeout.
    """
    config: dict[str, object] = dict(dj_database_url.parse(url))
    options = dict(config.get("OPTIONS") or {})  # type: ignore[call-overload]
    if config["ENGINE"] == "django.db.backends.sqlite3":
        # WAL and a busy timeout let concurrent requests wait instead of failing
        # with "database is locked"; IMMEDIATE takes the write lock up front.
        options.setdefault("init_command", "PRAGMA journal_mode=WAL;")
        options.setdefault("transaction_mode", "IMMEDIATE")
        options.setdefault("timeout", 20)
    elif config["ENGINE"] == "django.db.backends.postgresql" and env_bool(
        "DATABASE_POOL", default=True
    ):
        options.setdefault("pool", {"min_size": 1, "max_size": 10, "timeout": 10})
        config["CONN_MAX_AGE"] = 0
    if config["ENGINE"] == "django.db.backends.postgresql" and statement_timeout_ms:
        # libpq's `options` run `SET` at connection start, so the budget holds
        # for pooled connections too.
        given = str(options.get("options", ""))
        options["options"] = (
            f"{given} -c statement_timeout={int(statement_timeout_ms)}".strip()
        )
    config["OPTIONS"] = options
    return config


DATABASES = {
    "default": database_config(
        os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}"
    )
}
# A read replica of the primary (streaming replication, say): history reads go
# there, except in a transaction and after the request wrote (`replicas`). The
# test runner treats it as the primary (a mirror); migrations never run on it.
if os.environ.get("DATABASE_REPLICA_URL"):
    DATABASES["replica"] = {
        **database_config(os.environ["DATABASE_REPLICA_URL"]),
        "TEST": {"MIRROR": "default"},
    }
DATABASE_ROUTERS = ["replicas.routers.ReplicaRouter"] if "replica" in DATABASES else []

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"

CSRF_FAILURE_VIEW = "config.views.csrf_failure"

# Login throttling (django-axes): failed logins are counted per username and per
# client address, and either alone locks once it reaches the limit, until the
# cool-off has passed (0 minutes: until an admin resets it) with no new
# failure. A successful login clears the failures of its username.
AXES_FAILURE_LIMIT = int(os.environ.get("LOGIN_FAILURE_LIMIT", "5"))
_LOGIN_COOLOFF_MINUTES = float(os.environ.get("LOGIN_COOLOFF_MINUTES", "15"))
AXES_COOLOFF_TIME = (
    timedelta(minutes=_LOGIN_COOLOFF_MINUTES) if _LOGIN_COOLOFF_MINUTES else None
)
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
# A successful login forgets its username's failures only
# (`accounts.auth.forget_failures_of`), not its client's.
AXES_RESET_ON_SUCCESS = False
# The address `history.middleware.RequestIdMiddleware` recorded for the request.
AXES_CLIENT_IP_CALLABLE = "accounts.auth.client_ip_address"
# No start-up banner in every management command's output.
AXES_VERBOSE = False
SILENCED_SYSTEM_CHECKS = [
    # axes.W002 asks for AxesMiddleware, which replaces the whole response of a
    # locked-out request: the GraphQL `login` answers TOO_MANY_ATTEMPTS in its
    # own JSON instead, and the admin's login form refuses a locked-out user
    # without it (AxesStandaloneBackend).
    "axes.W002",
]
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

# Change reasons are free text, not 100 characters.
SIMPLE_HISTORY_HISTORY_CHANGE_REASON_USE_TEXT_FIELD = True
SIMPLE_HISTORY_REVERT_DISABLED = True
# The admin's history pages need the history permission (view_historical...),
# as the API does, not merely the model's view or change permission.
SIMPLE_HISTORY_ENFORCE_HISTORY_MODEL_PERMISSIONS = True

STRAWBERRY_DJANGO = {
    "MUTATIONS_DEFAULT_HANDLE_ERRORS": True,
    "FIELD_DESCRIPTION_FROM_HELP_TEXT": True,
    "TYPE_DESCRIPTION_FROM_MODEL_DOCSTRING": True,
}

# Signed checkpoints of the history's hash chains (`history.checkpoints`): the
# Ed25519 private key that signs them, base64 of its 32 raw bytes (from
# `manage.py generate_signing_key`). Keep it out of the database and, ideally,
# off the machine that holds the database's owner credentials. The public key
# verifies them; it defaults to the signing key's own. A malformed key stops
# the process here.
HISTORY_SIGNING_KEY = os.environ.get("HISTORY_SIGNING_KEY", "").strip()
HISTORY_VERIFY_KEY = verify_key_setting(
    HISTORY_SIGNING_KEY, os.environ.get("HISTORY_VERIFY_KEY", "")
)

# The cache: in this process's memory by default; with `CACHE_URL`
# (redis://host:port/db) in Redis, shared by every worker.
CACHE_URL = os.environ.get("CACHE_URL", "").strip()
CACHES: dict[str, dict[str, object]]
if CACHE_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CACHE_URL,
            # A cache server that stops answering costs a request at most
            # this long: the answer is then computed without it.
            "OPTIONS": {"socket_connect_timeout": 0.25, "socket_timeout": 0.25},
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "responses",
            # With answers of at most GRAPHQL_RESPONSE_CACHE_MAX_BYTES each:
            # 64 MiB per process at most, by default.
            "OPTIONS": {"MAX_ENTRIES": int(os.environ.get("CACHE_MAX_ENTRIES", "128"))},
        }
    }
# The GraphQL response cache (schema/cache.py): answers of queries, keyed by
# document, variables, the viewer's permissions and the data stamp
# (responsecache/stamps.py); on unless switched off. Answers live at most
# GRAPHQL_RESPONSE_CACHE_TTL seconds; larger ones than the byte limit are not
# stored.
GRAPHQL_RESPONSE_CACHE = env_bool("GRAPHQL_RESPONSE_CACHE", default=True)
GRAPHQL_RESPONSE_CACHE_TTL = int(os.environ.get("GRAPHQL_RESPONSE_CACHE_TTL", "300"))
GRAPHQL_RESPONSE_CACHE_MAX_BYTES = int(
    os.environ.get("GRAPHQL_RESPONSE_CACHE_MAX_BYTES", str(2**19))
)
# What queries read that records no version: a save, delete or many-to-many
# change of one moves the response cache's data stamp. (API tokens are read by
# no query: a revoked one is refused before the cache is asked.)
RESPONSE_CACHE_WATCHED_MODELS = [
    "auth.User",
    "auth.Group",
    "products.Tag",
]

# Limits on one GraphQL document (see schema/limits.py).
GRAPHQL_MAX_PAGE_SIZE = int(os.environ.get("GRAPHQL_MAX_PAGE_SIZE", "100"))
GRAPHQL_MAX_DEPTH = int(os.environ.get("GRAPHQL_MAX_DEPTH", "12"))
GRAPHQL_MAX_ALIASES = int(os.environ.get("GRAPHQL_MAX_ALIASES", "20"))
GRAPHQL_MAX_TOKENS = int(os.environ.get("GRAPHQL_MAX_TOKENS", "5000"))
GRAPHQL_MAX_NODES = int(os.environ.get("GRAPHQL_MAX_NODES", "25000"))
# The longest list in one argument (literal or variable), in items.
GRAPHQL_MAX_LIST_INPUT = int(os.environ.get("GRAPHQL_MAX_LIST_INPUT", "5000"))
# How deeply input objects may nest in one argument (`{AND: {AND: ...}}`).
GRAPHQL_MAX_INPUT_DEPTH = int(os.environ.get("GRAPHQL_MAX_INPUT_DEPTH", "10"))
# The most terms (values compared) in one `filters` argument.
GRAPHQL_MAX_FILTER_TERMS = int(os.environ.get("GRAPHQL_MAX_FILTER_TERMS", "50"))
# The largest request body (a GET's query string likewise), in bytes; Django
# refuses larger bodies it reads itself (admin forms) at the same size.
GRAPHQL_MAX_BODY_BYTES = int(os.environ.get("GRAPHQL_MAX_BODY_BYTES", str(2**20)))
DATA_UPLOAD_MAX_MEMORY_SIZE = GRAPHQL_MAX_BODY_BYTES
# GraphiQL in a browser, and schema introspection (both on unless switched off).
GRAPHQL_IDE = env_bool("GRAPHQL_IDE", default=True)
GRAPHQL_INTROSPECTION = env_bool("GRAPHQL_INTROSPECTION", default=True)
# How many versions one `verifyHistory` request checks at least before it ends
# its page (whole chains: the last one is finished); the next page goes on from
# its `endCursor`.
HISTORY_VERIFY_PAGE_VERSIONS = int(
    os.environ.get("HISTORY_VERIFY_PAGE_VERSIONS", "5000")
)

# One line per request (`history.request_log`), plain or JSON lines
# (LOG_FORMAT=json); Django's 4xx warnings repeat it and are dropped, its 5xx
# errors (with their tracebacks) kept.
LOG_FORMAT = os.environ.get("LOG_FORMAT", "plain").strip().lower() or "plain"
if LOG_FORMAT not in {"plain", "json"}:
    raise ImproperlyConfigured(f"LOG_FORMAT must be plain or json, not {LOG_FORMAT!r}.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "history.request_log.JsonFormatter"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}
    },
    "loggers": {
        # Only through the root's handler: Django's own prints a second copy.
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        "django.request": {"level": "ERROR"},
        # A request for a host name not in ALLOWED_HOSTS is a client's error,
        # answered 400; logged, anyone could fill the log with tracebacks.
        "django.security.DisallowedHost": {"handlers": [], "propagate": False},
    },
    "root": {
        "handlers": ["console"],
        "level": os.environ.get("DJANGO_LOG_LEVEL", "INFO"),
    },
}
