"""Load autodev's pytest plugin (:mod:`autodev.spec.pytest_plugin`) into every pytest run autodev starts.

Every run needs it, not only the collection: with ``--strict-markers`` a test marked ``@pytest.mark.req`` fails
to collect in any run that has not registered the marker, and the failure would be blamed on the model. The
plugin also records the test in progress, which is how a timed-out run names the test that hung.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import MutableMapping, Sequence
from pathlib import Path

from autodev.spec import pytest_plugin

PLUGIN_MODULE = "autodev.spec.pytest_plugin"
COPIED_PLUGIN_MODULE = "autodev_collect_plugin"
"""The plugin's name in an interpreter that cannot import autodev (the project's own virtualenv)."""
RUNNING_FILE = "running-test"


def plugin_options(argv: Sequence[str], root: Path, work: Path, env: MutableMapping[str, str]) -> list[str]:
    """``-p`` for the plugin, and ``env`` set up for it; the running test is kept in ``work``/``RUNNING_FILE``.

    pytest in autodev's own interpreter loads autodev's module; another interpreter (the project's virtualenv)
    may not have autodev installed, but the plugin needs only the standard library, so a copy of its file on
    PYTHONPATH works there. The copy has a name of its own so that it cannot shadow an ``autodev`` package the
    project might have.
    """
    env[pytest_plugin.RUNNING_ENV] = str(work / RUNNING_FILE)
    if _same_interpreter(argv[0], root, env):
        return ["-p", PLUGIN_MODULE]
    plugin_dir = work / "plugin"
    plugin_dir.mkdir(exist_ok=True)
    shutil.copyfile(Path(pytest_plugin.__file__), plugin_dir / f"{COPIED_PLUGIN_MODULE}.py")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(plugin_dir), env.get("PYTHONPATH", "")]))
    return ["-p", COPIED_PLUGIN_MODULE]


def running_test(work: Path) -> str | None:
    """The node ID the plugin says was in progress, or None (no test had started, or it had finished)."""
    try:
        text = (work / RUNNING_FILE).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return text or None


def _same_interpreter(program: str, root: Path, env: MutableMapping[str, str]) -> bool:
    """Whether ``program`` is the very interpreter autodev runs in (a path, not a symlink target: two virtualenvs
    share the same real binary)."""
    if "/" in program or os.sep in program:
        found: str | None = os.path.join(root, program)  # noqa: PTH118 - keeps the path as given, unresolved
    else:
        found = shutil.which(program, path=env.get("PATH"))
    return found is not None and os.path.abspath(found) == os.path.abspath(sys.executable)  # noqa: PTH100
