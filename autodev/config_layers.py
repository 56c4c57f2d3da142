"""The effective configuration: built-in defaults < user config < autodev.toml < AUTODEV_* variables < --set flags.

Each level is read as raw TOML data, its relative paths anchored at its own file's directory, checked against the
level rules (LEVEL_RULES: data, not code), and merged over the levels below it: tables key by key, lists and
scalars replace. The merged data is validated once (config.parse_config); an error names the level that set the
bad key (its file, its variable or the flag) and the key. Every leaf keeps the level it came from, for
`autodev config show --origin`.

Nothing here reads os.environ: the environment is passed in, as the command line got it.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from autodev.config import Config, anchor_paths, parse_config, read_config_file
from autodev.errors import ConfigError
from autodev.project import ProjectPaths, user_config_dir

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised only on Python 3.10
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

USER_CONFIG_NAME = "config.toml"
ENV_PREFIX = "AUTODEV_"
ENV_SEPARATOR = "__"  # AUTODEV_LLM__RETRIES: a variable without it is no configuration (AUTODEV_NO_NETWORK, ...)
DEFAULT_ORIGIN = "default"

KeyPath = tuple[str, ...]


@dataclass(frozen=True)
class LevelRule:
    """Keys (a table means every key in it) that the levels in ``rejected_at`` refuse, and what to say."""

    key: KeyPath
    rejected_at: frozenset[str]
    problem: str


_PROJECT_ONLY = "only valid in a project's autodev.toml (it describes one project)"
# The one table of keys valid at some levels only. Levels: "user", "project", "env", "flag".
LEVEL_RULES: tuple[LevelRule, ...] = (
    LevelRule(("project",), frozenset({"user"}), _PROJECT_ONLY),
    LevelRule(("specs",), frozenset({"user"}), _PROJECT_ONLY),
    LevelRule(("tests",), frozenset({"user"}), _PROJECT_ONLY),
    LevelRule(("monitoring", "watch_patterns"), frozenset({"user"}), _PROJECT_ONLY),
)


@dataclass(frozen=True)
class Level:
    """One level's raw data: ``kind`` (user, project, env, flag), ``label`` (how origins name it) and ``source``
    (how errors name it: autodev.toml's full path); ``labels`` name single keys of a level with many sources."""

    kind: str
    label: str
    data: dict[str, Any]
    source: str = ""
    labels: Mapping[KeyPath, str] = field(default_factory=dict)

    def label_of(self, path: KeyPath) -> str:
        for length in range(len(path), 0, -1):
            if path[:length] in self.labels:
                return self.labels[path[:length]]
        return self.label

    def sources_of(self, path: KeyPath) -> list[str]:
        """How errors name who set ``path``: its variable (or those of the keys under it), else the level."""
        for length in range(len(path), 0, -1):
            if path[:length] in self.labels:
                return [self.labels[path[:length]]]
        below = [label for key, label in self.labels.items() if key[: len(path)] == path]
        return list(dict.fromkeys(below)) or [self.source or self.label]


@dataclass(frozen=True)
class LayeredConfig:
    """The validated configuration, and for each leaf key the level that set it."""

    config: Config
    set_by: Mapping[KeyPath, str]

    def origin(self, path: KeyPath) -> str:
        """Where the value at ``path`` came from: a level's label, or "default"."""
        return self.set_by.get(path, DEFAULT_ORIGIN)

    @property
    def origins(self) -> dict[str, str]:
        """Every leaf of the effective configuration (dotted, TOML-quoted where needed) with its origin."""
        return {dotted(path): self.origin(path) for path, _ in leaves(self.config.model_dump(mode="json"))}


def user_config_file(env: Mapping[str, str]) -> Path:
    """$XDG_CONFIG_HOME/autodev/config.toml, else ~/.config/autodev/config.toml."""
    return user_config_dir(env) / USER_CONFIG_NAME


def load_effective_config(
    root: Path | None,
    env: Mapping[str, str],
    flags: Mapping[str, Any] | None = None,
    *,
    start: Path | None = None,
) -> LayeredConfig:
    """Every level merged and validated once; ``root`` None: no project (user config and defaults, env, flags).

    ``flags`` maps dotted keys (``llm.retries``, TOML quoting allowed) to values; relative paths given in the
    environment or as flags are anchored at ``start`` (where autodev was started), else at ``root``.
    """
    base = start or root or Path.cwd()
    user_file = user_config_file(env)
    project_file = ProjectPaths(root=root).config_file if root is not None else None
    levels = [
        level
        for level in (
            file_level("user", f"user config {user_file}", user_file),
            file_level("project", "autodev.toml", project_file, source=str(project_file)),
            env_level(env, base),
            flag_level(flags or {}, base),
        )
        if level is not None
    ]
    return merge_levels(levels)


def effective_config(
    root: Path | None, env: Mapping[str, str], flags: Mapping[str, Any] | None = None, *, start: Path | None = None
) -> Config:
    """Only the configuration of :func:`load_effective_config`."""
    return load_effective_config(root, env, flags, start=start).config


def merge_levels(levels: Sequence[Level]) -> LayeredConfig:
    """The levels, lowest first, merged and validated; errors name the level that set the key."""
    merged: dict[str, Any] = {}
    set_by: dict[KeyPath, str] = {}
    touched: dict[KeyPath, list[str]] = {}
    for level in levels:
        check_level_rules(level)
        for path, _ in leaves(level.data):
            for known in [known for known in set_by if _related(known, path)]:
                del set_by[known]  # a value replacing a table, or a table replacing a value: what was there goes
            for known in [known for known in touched if known[: len(path)] == path]:
                del touched[known]  # a replaced value's level is not to blame for the new one
            set_by[path] = level.label_of(path)
        for path in _all_paths(level.data):
            sources = touched.setdefault(path, [])
            sources.extend(source for source in level.sources_of(path) if source not in sources)
        merged = deep_merge(merged, level.data)
    try:
        config = parse_config(merged, source="configuration")
    except ConfigError as error:
        raise _attributed(error, touched) from error.__cause__
    return LayeredConfig(config=config, set_by=set_by)


def _related(one: KeyPath, other: KeyPath) -> bool:
    """Whether one key path is the other or lies under it."""
    shorter = min(len(one), len(other))
    return one[:shorter] == other[:shorter]


def deep_merge(lower: dict[str, Any], higher: dict[str, Any]) -> dict[str, Any]:
    """Tables merge key by key; anything else (lists, scalars, a table over a value) replaces."""
    merged = dict(lower)
    for key, value in higher.items():
        below = merged.get(key)
        merged[key] = deep_merge(below, value) if isinstance(below, dict) and isinstance(value, dict) else value
    return merged


def check_level_rules(level: Level) -> None:
    """ConfigError for the first key of ``level`` that LEVEL_RULES keep from it."""
    for rule in LEVEL_RULES:
        if level.kind not in rule.rejected_at:
            continue
        node: Any = level.data
        for part in rule.key:
            if not isinstance(node, dict) or part not in node:
                break
            node = node[part]
        else:
            first = next(iter(leaves(node)), None) if isinstance(node, dict) else None
            path = rule.key + first[0] if first is not None else rule.key
            raise ConfigError(level.sources_of(path)[0], dotted(path), rule.problem)


# ------------------------------------------------------------------------------------------ the levels


def file_level(kind: str, label: str, path: Path | None, *, source: str = "") -> Level | None:
    """A file's level; a missing file is no level (None), a directory or an unreadable file an error."""
    if path is None or not (path.exists() or path.is_symlink()):
        return None
    data = read_config_file(path, source=source or label)
    return Level(kind, label, anchor_paths(data, path.parent), source=source)


def env_level(env: Mapping[str, str], base: Path) -> Level | None:
    """AUTODEV_SECTION__KEY[__SUBKEY] variables (lower-cased keys, TOML values) as one level; None without any."""
    data: dict[str, Any] = {}
    labels: dict[KeyPath, str] = {}
    for name in sorted(env):
        if not name.startswith(ENV_PREFIX) or ENV_SEPARATOR not in name[len(ENV_PREFIX) :]:
            continue
        path = tuple(part.lower() for part in name[len(ENV_PREFIX) :].split(ENV_SEPARATOR))
        if not all(path):
            raise ConfigError(f"env {name}", None, "empty key: separate the section and its keys by one `__`")
        _put(data, path, parse_value(env[name]), f"env {name}")
        labels[path] = f"env {name}"
    if not data:
        return None
    return Level("env", "environment", anchor_paths(data, base), labels=labels)


def flag_level(flags: Mapping[str, Any], base: Path, *, label: str = "flag --set") -> Level | None:
    """``--set KEY=VALUE`` flags (already split, values parsed) as one level; None without any."""
    data: dict[str, Any] = {}
    labels: dict[KeyPath, str] = {}
    for key, value in flags.items():
        path = parse_key(key, source=f"{label} {key}")
        _put(data, path, value, f"{label} {key}")
        labels[path] = label
    if not data:
        return None
    return Level("flag", label, anchor_paths(data, base), labels=labels)


def parse_set_option(text: str) -> tuple[str, Any]:
    """``KEY=VALUE`` of --set: the key, and the value read like an environment variable's."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"flag --set {text}", None, "give KEY=VALUE, e.g. --set llm.retries=3")
    key = key.strip()
    parse_key(key, source=f"flag --set {text}")
    return key, parse_value(value)


_SIMPLE_TYPES = (str, bool, int, float, list, dict)


def parse_value(text: str) -> Any:
    """A TOML value (``3``, ``false``, ``"x"``, ``["a", "b"]``, ``{ k = 1 }``); anything else is the plain string."""
    try:
        parsed = tomllib.loads(f"value = {text}")
    except (tomllib.TOMLDecodeError, RecursionError):
        return text  # too deep to be a value: the plain string, which validation then refuses with its key
    if set(parsed) != {"value"} or not isinstance(parsed["value"], _SIMPLE_TYPES):
        return text  # more than one value (a newline), or a date: not what a variable means
    return parsed["value"]


def parse_key(key: str, *, source: str) -> KeyPath:
    """A dotted key as TOML reads it (``llm.models."gpt-4.1".model``)."""
    try:
        parsed: Any = tomllib.loads(f"{key} = 0")
    except tomllib.TOMLDecodeError:
        raise ConfigError(source, None, "not a dotted key such as llm.retries") from None
    path: list[str] = []
    while isinstance(parsed, dict) and len(parsed) == 1:
        name, parsed = next(iter(parsed.items()))
        path.append(name)
    return tuple(path)


def _put(data: dict[str, Any], path: KeyPath, value: Any, source: str) -> None:
    node = data
    for part in path[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(source, dotted(path), f"{dotted(path[:-1])} is already set to a value")
        node = child
    below = node.get(path[-1])
    node[path[-1]] = deep_merge(below, value) if isinstance(below, dict) and isinstance(value, dict) else value


# ------------------------------------------------------------------------------------------ keys and errors


def leaves(data: Any, prefix: KeyPath = ()) -> Iterator[tuple[KeyPath, Any]]:
    """Every non-table value under ``data`` with its key path (a list is one leaf)."""
    if not isinstance(data, dict):
        yield prefix, data
        return
    for key, value in data.items():
        yield from leaves(value, (*prefix, str(key)))


def _all_paths(data: Any, prefix: KeyPath = ()) -> Iterator[KeyPath]:
    """Every key path, tables included."""
    if isinstance(data, dict):
        for key, value in data.items():
            yield (*prefix, key)
            yield from _all_paths(value, (*prefix, key))


_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def toml_key(name: str) -> str:
    """A key as TOML writes it: bare when it can be, else a quoted string."""
    if _BARE_KEY.fullmatch(name):
        return name
    escaped = name.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + "".join(c if c >= " " and c != "\x7f" else f"\\u{ord(c):04x}" for c in escaped) + '"'


def dotted(path: Sequence[str]) -> str:
    return ".".join(toml_key(part) for part in path)


def _attributed(error: ConfigError, touched: Mapping[KeyPath, list[str]]) -> ConfigError:
    """The validation error with the level (or levels) that set its key named in place of "configuration"."""
    cause = error.__cause__
    path: KeyPath = ()
    if isinstance(cause, ValidationError) and cause.errors():
        path = tuple(str(part) for part in cause.errors()[0]["loc"])
    for length in range(len(path), 0, -1):
        sources = touched.get(path[:length])
        if sources:
            return ConfigError(" and ".join(sources), error.key, error.problem)
    return ConfigError("configuration", error.key, error.problem)
