"""Mutations that log in and out with a session.

strawberry_django.auth's `login` and `logout` do not keep our behaviour, so
these are ours:

- Its `resolve_login` calls `auth.authenticate` and answers any failure with
  `ValidationError("Incorrect username/password")`, so a login django-axes
  locked out (`request.axes_locked_out`) cannot answer `TOO_MANY_ATTEMPTS`.
- That `ValidationError` carries no `extensions.code`, so a wrong password
  cannot answer `INVALID_CREDENTIALS`.
- It passes a NUL character in the credentials on to `authenticate`, which asks
  the database (PostgreSQL cannot store NUL), where `user_login_check` refuses
  it first.
- Neither resolver refreshes the request's `Viewer` (`info.context.viewer`), so
  fields after `login` or `logout` in the same operation would see the
  permissions of who was logged in before.

Both take `metadata=` (as `strawberry.mutation` does), so `once_per_operation`
alone would not have stopped us using them.
"""

from __future__ import annotations

from typing import Annotated, Any

import strawberry
from asgiref.sync import sync_to_async
from django.contrib import auth
from graphql import GraphQLError
from strawberry.types import Info

from accounts.auth import LoginRefused, user_login_check
from schema.context import refresh_viewer, viewer_of
from schema.errors import AuthErrorCode
from schema.limits import once_per_operation
from schema.users import UserType


@strawberry.type(description="Logging in and out of a session.")
class AuthMutation:
    @strawberry.mutation(
        description="Log in with a username and password (session cookie).",
        metadata=once_per_operation(),
    )
    async def login(
        self,
        info: Info[Any, Any],
        username: Annotated[
            str, strawberry.argument(description="The user's login name.")
        ],
        password: Annotated[
            str, strawberry.argument(description="The user's password.")
        ],
    ) -> UserType | None:
        request = info.context.request
        try:
            user = await sync_to_async(user_login_check)(
                request=request, username=username, password=password
            )
        except LoginRefused as refused:
            code = (
                AuthErrorCode.TOO_MANY_ATTEMPTS
                if refused.locked_out
                else AuthErrorCode.INVALID_CREDENTIALS
            )
            raise GraphQLError(str(refused), extensions={"code": code.value}) from None
        await sync_to_async(auth.login)(request, user)
        await sync_to_async(refresh_viewer)(info, user)
        return user

    @strawberry.mutation(
        description="Log out of the session; true if someone was logged in."
    )
    async def logout(self, info: Info[Any, Any]) -> bool:
        request = info.context.request
        was_logged_in = viewer_of(info).is_authenticated
        await sync_to_async(auth.logout)(request)
        refresh_viewer(info, request.user)
        return was_logged_in
