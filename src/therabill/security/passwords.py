"""Password hashing (argon2id) and the password policy (ASVS 6.2: length, no composition rules)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 12
MAX_LENGTH = 128

# A small list of the most common passwords; the policy also refuses the username itself.
_COMMON = frozenset(
    """123456789012 1234567890123 password1234 passwordpassword qwertyuiopas qwerty123456
    iloveyou1234 letmein12345 welcome12345 adminadmin12 administrator changeme1234
    111111111111 000000000000 123123123123 abcdefghijkl passw0rd1234 football1234
    baseball1234 monkey123456 dragon123456 trustno12345 sunshine1234 princess1234
    therapist123 massage12345 therabill123""".split()
)

_hasher = PasswordHasher()


def policy_problems(password: str, username: str = "") -> list[str]:
    """What is wrong with a new password (empty when it is acceptable)."""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(f"must be at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        problems.append(f"must be at most {MAX_LENGTH} characters")
    lowered = password.lower()
    if lowered in _COMMON or (username and lowered == username.lower()):
        problems.append("is too common or equals the username")
    return problems


def hash_password(password: str) -> str:
    """An argon2id hash of the password."""
    return _hasher.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    """Whether the password matches the stored hash (False for a malformed hash)."""
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    """Whether the hash was made with weaker parameters than today's."""
    try:
        return _hasher.check_needs_rehash(stored_hash)
    except InvalidHashError:
        return True


# A hash to verify against when the username does not exist, so both paths take as long.
DUMMY_HASH = _hasher.hash("not-a-real-password-for-timing")
