"""Password hashing (Argon2id, memory-hard) and the minimum strength rule."""

from __future__ import annotations

from argon2 import Parameters, PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
# Verified when a username does not exist, so that an unknown user costs the same time as a
# wrong password (no user enumeration by timing).
_DUMMY_HASH = _hasher.hash("mch-service-dummy-password-for-timing")


def use_parameters(parameters: Parameters) -> None:
    """Hash new passwords with other Argon2id parameters in this process. For the test suite
    only (tests/conftest.py: the library's cheapest profile, a thousand times faster; the same
    code path). The service never calls it: its hashes use the library's recommended profile,
    and a hash made with other parameters is re-made at its next sign-in (needs_rehash)."""
    global _hasher, _DUMMY_HASH  # noqa: PLW0603 - one hasher per process, set before any use
    _hasher = PasswordHasher.from_parameters(parameters)
    _DUMMY_HASH = _hasher.hash("mch-service-dummy-password-for-timing")


MIN_LENGTH = 10
_COMMON = {
    "password123",
    "1234567890",
    "qwertyuiop",
    "123456789a",
    "a123456789",
    "iloveyou12",
    "admin12345",
    "passw0rd12",
    "12345678910",
    "abcdefghij",
    "woaini1314",
    "5201314520",
}


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def strength_problem(password: str, username: str) -> str | None:
    """None if acceptable. At least 10 characters mixing three kinds (lower, upper, digit,
    other), or at least 16 of any kind; not the username; not a well-known password."""
    if len(password) < MIN_LENGTH:
        return f"at least {MIN_LENGTH} characters"
    kinds = sum(
        [
            any(c.islower() for c in password),
            any(c.isupper() for c in password),
            any(c.isdigit() for c in password),
            any(not c.isalnum() for c in password),
        ]
    )
    if kinds < 3 and len(password) < 16:
        return (
            "mix three of: lower-case, upper-case, digits, symbols (or use 16 characters or more)"
        )
    if username and username.lower() in password.lower():
        return "must not contain the username"
    if password.lower() in _COMMON:
        return "too common"
    return None
