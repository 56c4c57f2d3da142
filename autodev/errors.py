"""Every error autodev raises on purpose, in one leaf module.

The CLI maps these to exit codes and messages; the library raises them with text a user can act on.
Nothing here imports from the rest of the package, so any module may import it.
"""

from __future__ import annotations


class AutodevError(Exception):
    """Base of autodev's own errors; ``exit_code`` is what the CLI exits with."""

    exit_code = 1


class UsageError(AutodevError):
    """The command line or the project layout is wrong in a way the user must fix."""

    exit_code = 2


class ConfigError(UsageError):
    """autodev.toml is missing a value, has an unknown key, or is not valid TOML.

    The message names the file, the key and what is wrong, so the user can go straight to it.
    """

    def __init__(self, file: str, key: str | None, problem: str) -> None:
        self.file = file
        self.key = key
        self.problem = problem
        where = f"{file}: {key}" if key else file
        super().__init__(f"{where}: {problem}")


class CommandError(UsageError):
    """A command file (``.autodev/commands/*.md`` and the like) cannot be used as written.

    The message is always ``PATH:LINE: problem (what to do)``, so an editor can jump to the line.
    """

    def __init__(self, path: str, line: int, problem: str) -> None:
        self.path = path
        self.line = line
        self.problem = problem
        super().__init__(f"{path}:{line}: {problem}")


class WorkflowError(UsageError):
    """A workflow cannot be used as written (its file, a step's prompt, a role it names), or a run cannot resume.

    The message says where (the file, or ``workflow NAME, step STEP``) and what to do.
    """


class NotARepositoryError(UsageError):
    """autodev needs git to commit and roll back; the project is not inside a repository."""


class SpecError(UsageError):
    """The specification cannot be read (missing, empty, not UTF-8)."""


class ModelError(AutodevError):
    """A model call failed. ``retryable`` says whether another call may succeed (timeouts, 5xx)."""

    def __init__(self, model: str, kind: str, detail: str, *, retryable: bool) -> None:
        self.model = model
        self.kind = kind
        self.detail = detail
        self.retryable = retryable
        super().__init__(f"model {model!r}: {kind}: {detail}")


class EditRejectedError(AutodevError):
    """A model reply was unusable or unsafe; the message is addressed to the model and fed back on a retry.

    ``summary`` is the short form for people (console, ledger, ``--json``), when the raiser has a better one than
    the message's first clause (see ``autodev.core.tried.for_people``).
    """

    def __init__(self, message: str, *, summary: str | None = None) -> None:
        super().__init__(message)
        self.summary = summary


class NoEditError(EditRejectedError):
    """A reply with no file edit in it at all (prose, a diff): `ask --apply` says so in its own words."""


class TestRunError(AutodevError):
    """The test command could not be started at all (not found, not executable)."""

    __test__ = False  # not a pytest test class


class UnsafeWorkspaceError(AutodevError):
    """Writing would overwrite work autodev did not make (uncommitted user changes)."""

    def __init__(self, paths: list[str]) -> None:
        self.paths = paths
        joined = ", ".join(paths)
        super().__init__(
            f"uncommitted changes in {joined}: autodev never overwrites work it did not make; "
            "commit or stash them first"
        )


class UndoRefusedError(AutodevError):
    """`autodev undo` found nothing it may undo; it says why and what to do, and changed nothing."""


class VcsError(AutodevError):
    """A git operation failed (commit refused by a hook, broken repository)."""


class WorkspaceWriteError(AutodevError):
    """Writing to the project failed (disk full, read-only, permissions); everything was restored."""


class JournalError(AutodevError):
    """The attempt journal blocks writing or could not be fully restored; it is kept for the next start."""


class LocalModelError(AutodevError):
    """A bundled or configured local model cannot be used: not installed, corrupt, or its server failed."""


class WatchError(AutodevError):
    """The project root cannot be watched at all (gone, unreadable); inotify limits fall back to polling instead."""


class BudgetExceededError(AutodevError):
    """The next call could exceed a spending cap; it is not made. A cap holds unless a server ignores
    ``max_tokens``; then it is overshot by at most that one call."""

    def __init__(self, scope: str, cap_usd: float, spent_usd: float, estimate_usd: float) -> None:
        self.scope = scope
        self.cap_usd = cap_usd
        self.spent_usd = spent_usd
        self.estimate_usd = estimate_usd
        super().__init__(
            f"budget: the {scope} cap of ${cap_usd:.4f} could be exceeded (spent ${spent_usd:.4f}, "
            f"next call up to ${estimate_usd:.4f}); raise [budget] {_CAP_KEYS.get(scope, scope)} to go on"
        )


_CAP_KEYS = {"requirement": "per_requirement_usd", "run": "per_run_usd", "day": "per_day_usd"}


class ContextTooLongError(UsageError):
    """The instructions, files and question alone do not fit the model's context window; no call is made."""

    def __init__(self, tokens: int, window: int, reserve: int) -> None:
        self.tokens = tokens
        self.window = window
        self.reserve = reserve
        super().__init__(
            f"the question and its files come to about {tokens} tokens, more than the model's context window of "
            f"{window} tokens holds with {reserve} kept for the answer; leave out some files, choose a model with "
            "a larger window, or set [llm.models.NAME] context_tokens"
        )
