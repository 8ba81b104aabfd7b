"""Authentication: a backend with a single-query permission cache, and login
checks throttled by django-axes."""

from __future__ import annotations

import ipaddress
from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.backends import ModelBackend as DjangoModelBackend
from django.contrib.auth.models import Permission
from django.db.models import Q
from django.http import HttpRequest


class ModelBackend(DjangoModelBackend):
    """Django's model backend, loading user and group permissions in one query."""

    def get_all_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if not hasattr(user_obj, "_perm_cache"):
            permissions = Permission.objects.all()
            if not user_obj.is_superuser:
                permissions = permissions.filter(
                    Q(user=user_obj) | Q(group__user=user_obj)
                )
            rows = (
                permissions.order_by()
                .values_list("content_type__app_label", "codename")
                .distinct()
            )
            user_obj._perm_cache = {f"{app}.{codename}" for app, codename in rows}
        return user_obj._perm_cache


def client_ip_address(request: HttpRequest) -> str | None:
    """The client address login throttling counts failures by (django-axes'
    `AXES_CLIENT_IP_CALLABLE`): the one the request's context recorded, else
    the socket's."""
    context = getattr(request, "history_context", None)
    if context is not None:
        address: str | None = context.ip_address
        return address
    try:
        return str(ipaddress.ip_address(request.META.get("REMOTE_ADDR") or ""))
    except ValueError:  # not an address (a rewritten header, a socket path)
        return None


def forget_failures_of(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    """After a successful login, forget the failed logins of that username (a
    `user_logged_in` receiver).

    Only the username's: failures from the same client against other usernames
    keep counting, so logging in to one's own account cannot clear a lockout
    someone is working towards on another (django-axes' own
    `AXES_RESET_ON_SUCCESS` clears the client's failures too).
    """
    from axes.utils import reset

    reset(username=user.get_username())


class LoginRefused(Exception):
    """A login refused; `locked_out` when throttling refused it (too many
    failures), whatever the password."""

    def __init__(self, message: str, *, locked_out: bool = False) -> None:
        super().__init__(message)
        self.locked_out = locked_out


def user_login_check(*, request: HttpRequest, username: str, password: str) -> Any:
    """The user `username` and `password` name, checked as `authenticate` does,
    with django-axes counting failures.

    Credentials no account can have (a NUL character: Django's forms refuse it
    and PostgreSQL cannot store it) are refused before the database is asked.

    Raises:
        LoginRefused: wrong credentials, or (`locked_out`) the username or the
            client has failed too often; the failure that reaches the limit is
            answered as locked out too.
    """
    if "\x00" in username or "\x00" in password:
        raise LoginRefused("Invalid username or password.")
    user = authenticate(request, username=username, password=password)
    if getattr(request, "axes_locked_out", False):
        raise LoginRefused(lockout_message(), locked_out=True)
    if user is None:
        raise LoginRefused("Invalid username or password.")
    return user


def lockout_message() -> str:
    """What a throttled login is told: how long to wait."""
    cool_off = settings.AXES_COOLOFF_TIME
    if not cool_off:
        return "Too many failed logins: locked until an administrator unlocks it."
    minutes = max(1, round(cool_off.total_seconds() / 60))
    return (
        f"Too many failed logins (limit {settings.AXES_FAILURE_LIMIT}): wait "
        f"{minutes} minute{'s' if minutes != 1 else ''} before trying again; an "
        "attempt meanwhile restarts the wait."
    )
