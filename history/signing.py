"""Ed25519 keys of signed checkpoints, as base64 text.

The private key signs checkpoints (`history.checkpoints`); it comes from the
environment (`HISTORY_SIGNING_KEY`) and is never stored in the database. The
public key verifies them (`HISTORY_VERIFY_KEY`), on this machine or an
auditor's. Both are the raw 32-byte keys in standard base64 (44 characters).

This module imports no Django model, so settings may use it.
"""

from __future__ import annotations

import base64
import binascii

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.core.exceptions import ImproperlyConfigured

KEY_BYTES = 32
GENERATE_HINT = "manage.py generate_signing_key"


class KeyInvalid(ValueError):
    """A text that is not a base64 Ed25519 key (or signature)."""


def _raw(text: str, *, what: str, size: int) -> bytes:
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError) as error:
        raise KeyInvalid(f"{what} is not base64.") from error
    if len(raw) != size:
        raise KeyInvalid(f"{what} is {len(raw)} bytes, not {size}.")
    return raw


def private_key(text: str) -> Ed25519PrivateKey:
    """The private key a base64 text holds.

    Raises:
        KeyInvalid: the text is not base64 of 32 bytes.
    """
    raw = _raw(text, what="The private key", size=KEY_BYTES)
    return Ed25519PrivateKey.from_private_bytes(raw)


def public_key(text: str) -> Ed25519PublicKey:
    """The public key a base64 text holds.

    Raises:
        KeyInvalid: the text is not base64 of 32 bytes, or not a key.
    """
    raw = _raw(text, what="The public key", size=KEY_BYTES)
    try:
        return Ed25519PublicKey.from_public_bytes(raw)
    except ValueError as error:
        raise KeyInvalid("The public key is not an Ed25519 key.") from error


def public_key_text(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """The raw public key of `key` (a private or public one), in base64."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    raw = public.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return base64.b64encode(raw).decode("ascii")


def private_key_text(key: Ed25519PrivateKey) -> str:
    """The raw private key, in base64: what `HISTORY_SIGNING_KEY` holds."""
    return base64.b64encode(key.private_bytes_raw()).decode("ascii")


def new_private_key() -> Ed25519PrivateKey:
    """A new random private key."""
    return Ed25519PrivateKey.generate()


def sign(key: Ed25519PrivateKey, text: str) -> str:
    """The Ed25519 signature of `text` (as UTF-8), in base64."""
    return base64.b64encode(key.sign(text.encode())).decode("ascii")


def signature_valid(verify_key: str, text: str, signature: str) -> bool:
    """Whether `signature` (base64) is the signature of `text` by the private
    key whose public key is `verify_key` (base64).

    Raises:
        KeyInvalid: `verify_key` is not a base64 Ed25519 public key.
    """
    verifier = public_key(verify_key)
    try:
        raw_signature = _raw(signature, what="The signature", size=64)
    except KeyInvalid:
        return False
    try:
        verifier.verify(raw_signature, text.encode())
    except InvalidSignature:
        return False
    return True


def verify_key_setting(signing_key: str, verify_key: str) -> str:
    """The verify key the settings hold: `verify_key` as given, or else the
    public key of `signing_key`, or "" when neither is set.

    For `config.settings`, so that a malformed key stops the process at start
    with the variable's name rather than when the first checkpoint is written.

    Raises:
        ImproperlyConfigured: a key is malformed, or both are given and the
            verify key is not the signing key's (every checkpoint signed would
            then fail verification).
    """
    signing_key, verify_key = signing_key.strip(), verify_key.strip()
    derived = ""
    if signing_key:
        try:
            derived = public_key_text(private_key(signing_key))
        except KeyInvalid as error:
            raise ImproperlyConfigured(
                f"HISTORY_SIGNING_KEY: {error} Generate a key with {GENERATE_HINT}."
            ) from error
    if not verify_key:
        return derived
    try:
        verify_key = public_key_text(public_key(verify_key))
    except KeyInvalid as error:
        raise ImproperlyConfigured(f"HISTORY_VERIFY_KEY: {error}") from error
    if derived and verify_key != derived:
        raise ImproperlyConfigured(
            "HISTORY_VERIFY_KEY is not the public key of HISTORY_SIGNING_KEY: "
            "checkpoints signed with it would not verify. Leave HISTORY_VERIFY_KEY "
            "unset to use the signing key's public key."
        )
    return verify_key
