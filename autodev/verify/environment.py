"""The environment a test run gets: an allowlist, not the caller's environment minus a pattern.

Code under test is a model's, so it sees what a test runner needs (the path, the locale, the interpreter's,
node's and cargo's own variables, autodev's marks) and what the user names in ``[tests] pass_env``, nothing
else: a ``DATABASE_URL``, a ``STRIPE_KEY`` or a CI token that no pattern foresaw stays out. Even an allowed name
is dropped when its value carries a credential (a URL with a password); only ``pass_env`` overrides that.
HOME is an empty directory of the run's own (``[tests] home = "scratch"``): what the user keeps there (``.npmrc``,
``.netrc``, ``.config``, ``.ssh``) is not the tests' to read, and a test that writes ``~/.something`` writes there;
the toolchains still find their homes and caches in the user's (:func:`with_scratch_home`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Final

from autodev.credentials import holds_credential, is_credential_name

ALLOWED_NAMES: Final = frozenset(
    {
        # the system
        "PATH", "HOME", "USER", "LOGNAME", "SHELL", "TERM", "TZ", "TMPDIR", "TEMP", "TMP", "LANG", "LANGUAGE",
        "COLUMNS", "NO_COLOR", "FORCE_COLOR", "CI", "XDG_CACHE_HOME", "XDG_RUNTIME_DIR", "SSL_CERT_FILE",
        "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "LD_LIBRARY_PATH",
        "PKG_CONFIG_PATH", "SOURCE_DATE_EPOCH",
        # Python
        "PYTHONPATH", "PYTHONHOME", "PYTHONIOENCODING", "PYTHONUTF8", "PYTHONHASHSEED", "PYTHONWARNINGS",
        "PYTHONDONTWRITEBYTECODE", "PYTHONNOUSERSITE", "PYTHONUSERBASE", "VIRTUAL_ENV", "CONDA_PREFIX",
        "CONDA_DEFAULT_ENV", "PY_COLORS",
        # JavaScript
        "NODE_PATH", "NODE_OPTIONS", "NODE_ENV", "NVM_DIR", "NVM_BIN", "NPM_CONFIG_CACHE", "npm_config_cache",
        # Rust, Go, Java
        "CARGO_HOME", "RUSTUP_HOME", "RUSTUP_TOOLCHAIN", "CARGO_TARGET_DIR", "RUSTFLAGS", "RUST_BACKTRACE",
        "CARGO_TERM_COLOR", "CARGO_INCREMENTAL", "GOPATH", "GOROOT", "GOCACHE", "GOFLAGS", "JAVA_HOME",
    }
)  # fmt: skip
ALLOWED_PREFIXES: Final = ("LC_", "AUTODEV_", "PYTEST_", "COVERAGE_")
TOOL_HOMES: Final = (
    ("CARGO_HOME", ".cargo"), ("RUSTUP_HOME", ".rustup"), ("XDG_CACHE_HOME", ".cache"), ("npm_config_cache", ".npm"),
    ("PYTHONUSERBASE", ".local"), ("GOPATH", "go"), ("PYENV_ROOT", ".pyenv"),
)  # fmt: skip
"""Where the toolchains look under HOME (variable, directory): kept pointing at the user's under a scratch HOME, so
that cargo finds its toolchain and registry, pip, uv and npm their caches, Python the user's ``pip --user``
packages. ``XDG_CONFIG_HOME`` and ``XDG_DATA_HOME`` are not among them: they hold credentials."""


def environment_for_tests(env: Mapping[str, str], pass_env: Sequence[str] = ()) -> dict[str, str]:
    """The variables of ``env`` a test run may see; ``pass_env`` names (or ``fnmatch`` patterns) always pass."""
    chosen: dict[str, str] = {}
    for name, value in env.items():
        if any(fnmatchcase(name, pattern) for pattern in pass_env) or (
            _allowed(name) and not is_credential_name(name) and not holds_credential(value)
        ):
            chosen[name] = value
    return chosen


def withheld(env: Mapping[str, str], pass_env: Sequence[str] = ()) -> list[str]:
    """The names :func:`environment_for_tests` leaves out, for the log: a failing test may need one of them."""
    kept = environment_for_tests(env, pass_env)
    return sorted(name for name in env if name not in kept)


def _allowed(name: str) -> bool:
    return name in ALLOWED_NAMES or name.startswith(ALLOWED_PREFIXES)


def with_scratch_home(env: Mapping[str, str], home: Path) -> dict[str, str]:
    """``env`` with HOME at ``home`` (made here); each of :data:`TOOL_HOMES` the caller did not set points at the
    user's directory when that exists."""
    home.mkdir(parents=True, exist_ok=True)
    real = Path(env.get("HOME") or Path.home())
    changed = dict(env)
    for name, directory in TOOL_HOMES:
        if name not in changed and (real / directory).is_dir():
            changed[name] = str(real / directory)
    changed["HOME"] = str(home)
    return changed
