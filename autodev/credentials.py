"""Which environment variables hold credentials, so that nothing autodev starts for model-written code sees them.

Tests run code a model wrote; the user's own git hooks run when autodev commits. Neither needs a provider key,
a token or a database password, and either could write one out. A variable is a credential by its name (the
shapes providers and tools use) or by its value (a URL with a password in it, ``postgres://u:pw@host/db``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

CREDENTIAL_SUFFIXES = (
    "_KEY",  # OPENAI_API_KEY, DEEPSEEK_KEY, STRIPE_SECRET_KEY: whatever names a provider's key
    "_APIKEY",
    "_TOKEN",
    "_SECRET",
    "_PASSWORD",
    "_PASSWD",
    "_PASS",
    "_PAT",  # GITHUB_PAT: a personal access token
    "_CREDENTIALS",
    "_KEY_ID",
)
CREDENTIAL_SUBSTRINGS = ("API_KEY", "APIKEY", "ACCESS_TOKEN", "BEARER_TOKEN", "SECRET", "PASSWORD")
KNOWN_CREDENTIALS = frozenset(
    {
        "AWS_ACCESS_KEY_ID",
        "AWS_SESSION_TOKEN",
        "GOOGLE_APPLICATION_CREDENTIALS",
        "VERTEXAI_CREDENTIALS",
        "NETRC",
        "PGPASSWORD",
        "PGPASSFILE",
        "MYSQL_PWD",
        "REDISCLI_AUTH",
    }
)
# scheme://user:password@host: the password is a credential whatever the variable is called (DATABASE_URL)
_URL_WITH_PASSWORD = re.compile(r"[a-z][a-z0-9+.-]*://[^/\s:@]*:[^/\s@]+@", re.IGNORECASE)


def is_credential_name(name: str) -> bool:
    upper = name.upper()
    return (
        upper in KNOWN_CREDENTIALS
        or upper.endswith(CREDENTIAL_SUFFIXES)
        or any(part in upper for part in CREDENTIAL_SUBSTRINGS)
    )


def holds_credential(value: str) -> bool:
    """A value that carries a password, such as ``postgres://app:hunter2@db/app``."""
    return _URL_WITH_PASSWORD.search(value) is not None


def without_credentials(env: Mapping[str, str]) -> dict[str, str]:
    """A copy of ``env`` without the variables that hold credentials, by name or by value; ``env`` is unchanged."""
    return {name: value for name, value in env.items() if not is_credential_name(name) and not holds_credential(value)}
