"""Test runs are confined where the platform allows: the user's project read-only outside the copy, git unable to
reach the user's repository, no network but loopback, and a HOME of the run's own.

Each test runs real pytest, through run_tests, in a ProjectCopy of a real git repository, with code under test
that tries to get out; what it managed is read from the user's tree afterwards, not from its own report.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from helpers import NO_SERVER, RIGHT, autodev, git, head, processes_working_in, run_pass, setup_example, snapshot

from autodev.config import TestsConfig
from autodev.errors import TestRunError
from autodev.testing import FunctionClient
from autodev.verify import confine
from autodev.verify.confine import Confinement, Probe, launch_failure, probe, protected_trees
from autodev.verify.copy import ProjectCopy
from autodev.verify.runner import TestRun, run_tests

pytestmark = pytest.mark.req("CORE-7")

needs_confinement = pytest.mark.skipif(
    not probe().available, reason=f"confinement is not available on this machine: {probe().reason}"
)
PYTEST = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "ignore::DeprecationWarning"]


@pytest.fixture
def project(repo: Path) -> Path:
    """A committed project with a README, an installed package under node_modules and an uncommitted note."""
    (repo / "README.md").write_text("# mine\n", encoding="utf-8")
    (repo / ".gitignore").write_text(".autodev/\nnode_modules/\n", encoding="utf-8")
    (repo / "node_modules" / "left-pad").mkdir(parents=True)
    (repo / "node_modules" / "left-pad" / "index.js").write_text("module.exports = 1;\n", encoding="utf-8")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "start")
    (repo / "notes.txt").write_text("uncommitted\n", encoding="utf-8")
    return repo


def run_in_copy(project: Path, test_source: str, confinement: Confinement | None = None) -> TestRun:
    """``test_source`` as tests/test_hostile.py in a synced copy of ``project``, run by real pytest."""
    copy = ProjectCopy(project, project / ".autodev" / "scratch" / "copy")
    copy.sync()
    copy.write({"tests/test_hostile.py": test_source})
    chosen = confinement or Confinement.from_config(TestsConfig(), project)
    return run_tests(copy.root, PYTEST, timeout_s=120, scratch_dir=project / ".autodev" / "tmp", confine=chosen)


def assert_untouched(project: Path, before: dict[str, bytes], commit: str) -> None:
    assert snapshot(project) == before
    assert head(project) == commit
    assert (project / "node_modules" / "left-pad" / "index.js").read_text(encoding="utf-8") == "module.exports = 1;\n"


@needs_confinement
class TestTheUsersTree:
    def test_relative_and_absolute_writes_into_the_users_tree_fail_and_the_copy_stays_writable(
        self, project: Path
    ) -> None:
        """`../../../README.md` from the copy and the README's absolute path are read-only; the copy is not."""
        before, commit = snapshot(project), head(project)
        run = run_in_copy(
            project,
            f"""
import errno, pathlib, pytest

@pytest.mark.parametrize("target", ["../../../README.md", {str(project / "README.md")!r},
                                    {str(project / "planted.py")!r}, {str(project / ".git" / "HEAD")!r}])
def test_cannot_write(target):
    with pytest.raises(OSError) as caught:
        pathlib.Path(target).write_text("pwned")
    assert caught.value.errno == errno.EROFS

def test_the_copy_is_writable():
    pathlib.Path("made-here.txt").write_text("fine")
    assert pathlib.Path("made-here.txt").read_text() == "fine"
""",
        )
        assert run.exit_code == 0, run.output
        assert len(run.passed_ids) == 5
        assert run.used_junit  # the report, in the run's scratch directory, was written and read
        assert_untouched(project, before, commit)

    def test_git_commit_after_deleting_the_copys_git_does_not_reach_the_users_repository(self, project: Path) -> None:
        before, commit = snapshot(project), head(project)
        run = run_in_copy(
            project,
            """
import shutil, subprocess

def test_commit_from_the_copy():
    shutil.rmtree(".git")
    git = ["git", "-c", "user.name=x", "-c", "user.email=x@example.com"]
    subprocess.run(git + ["add", "-A"], capture_output=True)
    done = subprocess.run(git + ["commit", "-qm", "planted"], capture_output=True, text=True)
    print("COMMIT", done.returncode, done.stderr)
""",
        )
        assert run.exit_code == 0, run.output
        assert_untouched(project, before, commit)
        assert git(project, "log", "--format=%s").splitlines() == ["start"]
        assert "notes.txt" in git(project, "status", "--porcelain")  # nothing was staged in the user's index

    def test_node_modules_through_the_copys_link_is_read_only(self, project: Path) -> None:
        before, commit = snapshot(project), head(project)
        run = run_in_copy(
            project,
            """
import errno, pathlib, pytest

def test_rewrite_an_installed_package():
    with pytest.raises(OSError) as caught:
        pathlib.Path("node_modules/left-pad/index.js").write_text("module.exports = 'pwned';")
    assert caught.value.errno == errno.EROFS
""",
        )
        assert run.exit_code == 0, run.output
        assert_untouched(project, before, commit)

    def test_another_processs_proc_root_does_not_lead_back_to_the_writable_tree(self, project: Path) -> None:
        """The run has a pid namespace of its own: no /proc/PID/root of autodev's to write the project through."""
        before, commit = snapshot(project), head(project)
        run = run_in_copy(
            project,
            f"""
import os, pathlib

def test_no_way_round():
    pids = [name for name in os.listdir("/proc") if name.isdigit()]
    for pid in pids:
        try:
            pathlib.Path(f"/proc/{{pid}}/root{project}/README.md").write_text("pwned")
        except OSError:
            pass
    assert os.getpid() == 1  # pid 1 of a namespace of its own: only the run's processes are in /proc
""",
        )
        assert run.exit_code == 0, run.output
        assert_untouched(project, before, commit)

    def test_off_runs_unconfined(self, project: Path) -> None:
        """`[tests] confine = "off"`: the run can write the project (which is what confinement prevents)."""
        run = run_in_copy(project, f"""
import pathlib

def test_write_the_project():
    pathlib.Path({str(project / "written-unconfined.txt")!r}).write_text("yes")
""", Confinement(mode="off", project=project))  # fmt: skip
        assert run.exit_code == 0, run.output
        assert (project / "written-unconfined.txt").read_text(encoding="utf-8") == "yes"


@needs_confinement
def test_a_pass_confines_its_attempts_by_default(repo: Path) -> None:
    """The right code, plus lines run at import that write the user's README by its absolute path, delete the
    copy's .git and commit: the attempt is green, and only autodev's commit of temps.py reaches the user's tree."""
    setup_example(repo, NO_SERVER, stub=True)
    (repo / "README.md").write_text("# mine\n", encoding="utf-8")
    git(repo, "add", "README.md")
    git(repo, "commit", "-qm", "readme")
    before = snapshot(repo)
    lines = [
        "import os, shutil, subprocess",
        "try:",
        f"    open({str(repo / 'README.md')!r}, 'w').write('pwned')",
        "except OSError:",
        "    pass",
        "shutil.rmtree('.git', ignore_errors=True)",
        "subprocess.run('git add -A && git -c user.name=x -c user.email=x@x commit -qm planted', shell=True)",
    ]
    head_line = "temps.py\n```python\n"
    reply = RIGHT.replace(head_line, head_line + "".join(f"{line}\n" for line in lines))
    result = run_pass(repo, FunctionClient.replying(reply), max_attempts=1)
    assert result.status == "satisfied", result.reason
    after = snapshot(repo)
    assert after.pop("temps.py") != before.pop("temps.py")
    assert after == before
    assert git(repo, "log", "--format=%s").splitlines()[1:] == ["readme", "spec and tests"]


def interfaces() -> list[str]:
    return sorted(name for _, name in socket.if_nameindex())


@needs_confinement
class TestNetwork:
    SOURCE = """
import errno, socket, threading

def test_localhost_serves():
    server = socket.create_server(("127.0.0.1", 0))
    threading.Thread(target=lambda: server.accept()[0].sendall(b"hi"), daemon=True).start()
    with socket.create_connection(server.getsockname(), timeout=5) as client:
        assert client.recv(2) == b"hi"

def test_interfaces():
    assert sorted(name for _, name in socket.if_nameindex()) == EXPECTED
"""

    def test_only_loopback_and_nothing_outside_without_network(self, project: Path) -> None:
        run = run_in_copy(
            project,
            self.SOURCE.replace("EXPECTED", "['lo']")
            + """
def test_outside_is_unreachable():
    try:
        socket.create_connection(("192.0.2.1", 80), timeout=5).close()
    except OSError as exc:
        assert exc.errno == errno.ENETUNREACH
    else:
        raise AssertionError("connected outside")
""",
        )
        assert run.exit_code == 0, run.output
        assert len(run.passed_ids) == 3

    def test_network_true_keeps_the_machines_interfaces(self, project: Path) -> None:
        source = self.SOURCE.replace("EXPECTED", repr(interfaces()))
        run = run_in_copy(project, source, Confinement(network=True, project=project))
        assert run.exit_code == 0, run.output
        assert len(run.passed_ids) == 2


class TestWhenConfinementIsMissing:
    def test_on_without_confinement_is_a_clear_error(self, project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(confine, "probe", lambda: Probe(available=False, reason="unshare: Operation not permitted"))
        with pytest.raises(TestRunError, match=r"cannot confine the test run: unshare: Operation not permitted.*"
                                               r'confine = "auto"'):  # fmt: skip
            run_in_copy(project, "def test_x():\n    pass\n", Confinement(mode="on", project=project))

    def test_auto_without_confinement_runs_unconfined(self, project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(confine, "probe", lambda: Probe(available=False, reason="simulated"))
        run = run_in_copy(project, f"""
import pathlib

def test_write_the_project():
    pathlib.Path({str(project / "unconfined.txt")!r}).write_text("yes")
""", Confinement(mode="auto", project=project))  # fmt: skip
        assert run.exit_code == 0, run.output
        assert (project / "unconfined.txt").exists()
        assert "no (simulated; set [tests] confine" in confine.describe(Confinement())

    def test_a_failing_setup_step_is_told_apart_from_the_tests(self, tmp_path: Path) -> None:
        """The launcher exits with its own status and one marked line naming the step."""
        spec = {"writable": [], "readonly": [str(tmp_path / "missing")], "cwd": str(tmp_path), "network": False}
        done = subprocess.run(
            [sys.executable, "-I", "-S", str(confine.HELPER), json.dumps(spec), "--", sys.executable, "-c", "pass"],
            capture_output=True,
            text=True,
            check=False,
        )
        if not probe().available:
            pytest.skip(f"confinement is not available on this machine: {probe().reason}")
        assert done.returncode == 97
        error = launch_failure(done.stderr)
        assert error is not None and "bind" in str(error) and "missing" in str(error)

    def test_a_marked_line_in_the_tests_output_is_no_launcher_failure(self, project: Path) -> None:
        """The launcher reports on a pipe closed at exec: the code under test cannot fake a setup failure."""
        if not probe().available:
            pytest.skip(f"confinement is not available on this machine: {probe().reason}")
        run = run_in_copy(
            project,
            """
import os, sys

def test_forge():
    sys.stderr.write("autodev-confine: bind /: forged\\n")
    sys.stderr.flush()
    os._exit(97)
""",
        )
        assert run.exit_code == 97

    def test_a_missing_command_is_the_same_error_confined_or_not(self, project: Path) -> None:
        for mode in ("auto", "off"):
            with pytest.raises(TestRunError, match="cannot run the test command 'no-such-runner'"):
                run_tests(project, ["no-such-runner"], timeout_s=30, scratch_dir=project / ".autodev" / "tmp",
                          confine=Confinement(mode=mode, project=project))  # fmt: skip


NOBODY_PYTHON = Path("/usr/bin/python3")


@pytest.mark.skipif(
    os.getuid() != 0 or shutil.which("setpriv") is None or not NOBODY_PYTHON.exists(),
    reason="needs root, setpriv and /usr/bin/python3 to run the launcher as an unprivileged user",
)
def test_an_unprivileged_user_gets_a_user_namespace_with_its_own_uid() -> None:
    """Not root: the launcher makes a user namespace, maps the user to itself, and the read-only bind holds."""
    tmp_path = Path(tempfile.mkdtemp(prefix="autodev-unprivileged-"))  # pytest's are the root's alone
    try:
        _as_nobody(tmp_path)
    finally:
        shutil.rmtree(tmp_path)


def _as_nobody(tmp_path: Path) -> None:
    tmp_path.chmod(0o777)
    (tmp_path / "project" / "copy").mkdir(parents=True)
    (tmp_path / "project" / "copy").chmod(0o777)  # the user's own place; mkdir's mode would go through the umask
    (tmp_path / "project" / "README.md").write_text("mine\n", encoding="utf-8")
    helper = tmp_path / "confine_exec.py"
    shutil.copy(confine.HELPER, helper)
    helper.chmod(0o644)
    spec = {"writable": [str(tmp_path / "project" / "copy")], "readonly": [str(tmp_path / "project")],
            "cwd": str(tmp_path / "project" / "copy"), "network": False}  # fmt: skip
    script = "id -u; echo x > ../README.md || echo refused; echo y > mine.txt && echo wrote"
    done = subprocess.run(
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", str(NOBODY_PYTHON), "-I", "-S", str(helper),
         json.dumps(spec), "--", "sh", "-c", script],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    if done.returncode == 97:
        pytest.skip(f"user namespaces are not available to an unprivileged user here: {done.stderr.strip()}")
    assert done.stdout.split() == ["65534", "refused", "wrote"], done.stderr
    assert (tmp_path / "project" / "README.md").read_text(encoding="utf-8") == "mine\n"


class TestScratchHome:
    def test_home_is_the_runs_own_and_the_toolchains_keep_theirs(self, project: Path, tmp_path: Path) -> None:
        home = tmp_path / "home"
        (home / ".cargo").mkdir(parents=True)
        (home / ".config").mkdir()
        env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config")}
        source = f"""
import os, pathlib

def test_home():
    pathlib.Path("~/.somefile").expanduser().write_text("mine")
    assert os.environ["HOME"] != {str(home)!r}
    assert os.environ["CARGO_HOME"] == {str(home / ".cargo")!r}
    assert "XDG_CONFIG_HOME" not in os.environ
    assert "RUSTUP_HOME" not in os.environ  # not in the real home: not made up
"""
        copy = ProjectCopy(project, project / ".autodev" / "scratch" / "copy")
        copy.sync()
        copy.write({"tests/test_home.py": source})
        run = run_tests(copy.root, PYTEST, timeout_s=120, scratch_dir=project / ".autodev" / "tmp", env=env,
                        confine=Confinement(project=project))  # fmt: skip
        assert run.exit_code == 0, run.output
        assert not (home / ".somefile").exists()
        assert not list((project / ".autodev" / "tmp").glob("run-*"))  # the scratch home went with the run

    def test_home_user_keeps_the_users(self, project: Path, tmp_path: Path) -> None:
        env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
        copy = ProjectCopy(project, project / ".autodev" / "scratch" / "copy")
        copy.sync()
        copy.write(
            {"tests/test_home.py": f"import os\ndef test_home():\n    assert os.environ['HOME'] == {str(tmp_path)!r}\n"}
        )
        run = run_tests(copy.root, PYTEST, timeout_s=120, scratch_dir=project / ".autodev" / "tmp", env=env,
                        confine=Confinement(home="user", project=project))  # fmt: skip
        assert run.exit_code == 0, run.output


@needs_confinement
class TestTheRunEndsWithAutodev:
    def test_a_kill_9_of_autodev_takes_its_test_run_down_too(self, project: Path, tmp_path: Path) -> None:
        """autodev SIGKILLed while the tests run (the code under test cannot do it: it sees no pid outside its
        namespace): the launcher and the test's pid 1 die with it (a parent-death signal each), and with pid 1 every
        process of the namespace."""
        marker = tmp_path / "started"
        test = f"import time\n\n\ndef test_waits():\n    open({str(marker)!r}, 'w').write('x')\n    time.sleep(60)\n"
        runner = (  # what a pass does: sync the copy, write the attempt, run the tests confined
            "import sys\nfrom pathlib import Path\nfrom autodev.config import TestsConfig\n"
            "from autodev.verify.confine import Confinement\nfrom autodev.verify.copy import ProjectCopy\n"
            "from autodev.verify.runner import run_tests\n"
            f"project = Path({str(project)!r})\n"
            "copy = ProjectCopy(project, project / '.autodev' / 'scratch' / 'copy')\ncopy.sync()\n"
            f"copy.write({{'tests/test_waits.py': {test!r}}})\n"
            "confine = Confinement.from_config(TestsConfig(), project)\n"
            "run_tests(copy.root, [sys.executable, '-m', 'pytest'], timeout_s=120,\n"
            "          scratch_dir=project / '.autodev' / 'tmp', confine=confine)\n"
        )
        process = subprocess.Popen([sys.executable, "-c", runner], env={**os.environ, "PYTHONPATH": str(Path.cwd())})
        try:
            deadline = time.monotonic() + 60
            while not marker.exists() and process.poll() is None and time.monotonic() < deadline:
                time.sleep(0.05)
            assert marker.exists(), "the test never started"
            copy = (project / ".autodev").resolve()
            assert processes_working_in(copy)
            process.kill()
        finally:
            process.kill()
            process.wait(timeout=30)
        deadline = time.monotonic() + 10
        while processes_working_in(copy) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert processes_working_in(copy) == []


class TestWhatIsProtected:
    def test_a_worktrees_repository_is_protected_with_it(self, repo: Path, tmp_path: Path) -> None:
        (repo / "a.txt").write_text("a\n", encoding="utf-8")
        git(repo, "add", "-A")
        git(repo, "commit", "-qm", "a")
        git(repo, "worktree", "add", "-q", str(tmp_path / "wt"), "-b", "wt")
        trees = protected_trees(tmp_path / "wt")
        assert tmp_path / "wt" in trees
        assert (repo / ".git").resolve() in trees

    def test_a_project_in_a_subdirectory_protects_the_repository_above(self, repo: Path) -> None:
        (repo / "sub").mkdir()
        assert protected_trees(repo / "sub") == [repo.resolve()]


class TestWhereItIsSaid:
    def test_status_says_whether_tests_run_confined(self, project: Path, capsys: pytest.CaptureFixture[str]) -> None:
        (project / "SPEC.md").write_text("# Spec\n\nSomething.\n", encoding="utf-8")
        (project / "autodev.toml").write_text("", encoding="utf-8")
        assert autodev(project, "status") == 0
        line = [text for text in capsys.readouterr().out.splitlines() if text.startswith("tests confined: ")]
        assert line == [f"tests confined: {confine.describe(Confinement())}"]
        (project / "autodev.toml").write_text('[tests]\nconfine = "off"\n', encoding="utf-8")
        assert autodev(project, "status", "--json") == 0
        said = json.loads(capsys.readouterr().out)["tests_confined"]
        assert said == {"confined": False, "mode": "off", "network": False,
                        "description": 'no ([tests] confine = "off")'}  # fmt: skip

    def test_status_reads_the_probe_the_project_last_had_and_probes_again_when_it_is_stale(
        self, project: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """`status` should not start a process to say it: the answer is kept in .autodev for a day, for this
        kernel, user, interpreter and launcher; another key, or an old record, is probed afresh."""
        (project / ".autodev").mkdir(exist_ok=True)
        calls: list[int] = []
        monkeypatch.setattr(confine, "probe", lambda: calls.append(1) or Probe(available=False, reason="simulated"))
        assert confine.remembered_probe(project) == Probe(available=False, reason="simulated")
        assert confine.remembered_probe(project) == Probe(available=False, reason="simulated")
        assert len(calls) == 1
        record = project / ".autodev" / confine.PROBE_RECORD
        data = json.loads(record.read_text(encoding="utf-8"))
        record.write_text(json.dumps({**data, "key": "another kernel"}), encoding="utf-8")
        confine.remembered_probe(project)
        record.write_text(json.dumps({**data, "at": data["at"] - confine.PROBE_RECORD_TTL_S - 1}), encoding="utf-8")
        confine.remembered_probe(project)
        record.write_text("{not json", encoding="utf-8")
        confine.remembered_probe(project)
        assert len(calls) == 4

    def test_models_doctor_says_it_before_its_verdict(self, project: Path, capsys: pytest.CaptureFixture[str]) -> None:
        code = autodev(project, "models", "doctor", "--no-speed")
        lines = capsys.readouterr().out.strip().splitlines()
        assert f"tests confined     {confine.describe(Confinement())}" in lines
        assert lines[-1].startswith(("ok: ", "PROBLEM: ")), lines
        autodev(project, "models", "doctor", "--no-speed", "--json")
        said = json.loads(capsys.readouterr().out)
        assert said["tests_confined"]["description"] == confine.describe(Confinement())
        assert code in (0, 1)

    def test_the_line_names_how_and_the_network(self) -> None:
        if not probe().available:
            assert confine.describe(Confinement()).startswith("no (")
            return
        assert confine.describe(Confinement()).startswith("yes (")
        assert confine.describe(Confinement()).endswith("project read-only outside the copy, no network)")
        assert confine.describe(Confinement(network=True)).endswith("network allowed)")
