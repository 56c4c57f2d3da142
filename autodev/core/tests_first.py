"""Step 1b of a pass with ``[synthesis] test_first``: the specs' examples (and, with ``[roles.tester]``, the
tester's tests for their acceptance criteria) written as tests before any code.

Each requirement's examples become ``tests/generated/test_<id>.py`` (``autodev.testgen``); with a tester, the
tests it writes for the criteria that fail on the current code for the requirement's reason become
``tests/generated/test_<id>_criteria.py`` (``autodev.core.criteria_first``). A requirement's new or changed files
are committed on their own, ``autodev: tests for REQ-1``, before the survey, so the baseline already runs them and
every later attempt is judged by them (and may not change them: they are test files). With ``test_first =
"review"`` the files are written and left uncommitted, and the requirement waits: the user reads them, commits or
edits them, and the next pass goes on. A generated file with uncommitted changes is the user's to review and is
never written over; a file that is not autodev's is never touched at all (``autodev.testgen.write``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from autodev.config import Config
from autodev.core.criteria_first import CriteriaTester
from autodev.errors import VcsError
from autodev.logs import get_logger
from autodev.progress import Committed, report
from autodev.project import ProjectPaths
from autodev.records import RoleCall
from autodev.spec.model import Requirement
from autodev.spec.parser import load_specs
from autodev.testgen.coverage import criteria_path, generated_path
from autodev.testgen.render import GeneratedTests, render
from autodev.testgen.write import write_generated
from autodev.vcs import GitRepo
from autodev.vcs.trailers import MODEL_TRAILER, TESTS_FOR_TRAILER

EXAMPLES_AUTHOR = "examples"  # the Autodev-Model of a tests commit: translated from the spec, no model wrote them
REVIEW_REASON = (
    "its generated tests {path} await your review: read them, commit them (git add {path} && git commit) or edit "
    "them, then run again"
)


@dataclass
class TestsFirst:
    """What the step did: the commits it made, the requirements whose tests wait for the user, the tester's calls."""

    __test__ = False
    committed: dict[str, str] = field(default_factory=dict)  # requirement -> the tests commit
    awaiting_review: dict[str, str] = field(default_factory=dict)  # requirement -> its generated file(s)
    calls: dict[str, list[RoleCall]] = field(default_factory=dict)  # requirement -> the tester's call

    def refusal(self, requirement: str) -> str | None:
        path = self.awaiting_review.get(requirement)
        return REVIEW_REASON.format(path=path) if path else None


def tests_first(paths: ProjectPaths, config: Config, repo: GitRepo, tester: CriteriaTester | None = None) -> TestsFirst:
    """Write (and, unless reviewing, commit) the tests of every requirement that has examples, or criteria a
    tester is configured for."""
    done = TestsFirst()
    mode = config.synthesis.test_first
    if mode is False:
        return done
    for requirement in load_specs(paths.root, config.specs.paths).requirements:
        if not (requirement.examples or (tester is not None and requirement.criteria)):
            continue
        ours = repo.uncommitted([generated_path(requirement), criteria_path(requirement)])
        if ours:  # written earlier and not committed: the user is reviewing them
            done.awaiting_review[requirement.id] = " ".join(ours)
            continue
        written = _written(paths, requirement, tester, done)
        if not written:
            continue
        if mode == "review":
            done.awaiting_review[requirement.id] = " ".join(path for path, _ in written)
        else:
            _commit(config, repo, requirement, written, done)
    return done


def _written(
    paths: ProjectPaths, requirement: Requirement, tester: CriteriaTester | None, done: TestsFirst
) -> list[tuple[str, str]]:
    """The generated files written for the requirement now, each with who wrote its tests."""
    files: list[GeneratedTests] = []
    if requirement.examples:
        files.append(_examples(paths, requirement))
    if tester is not None and tester.wanted(requirement):
        made = tester.tests_for(requirement)
        if made is not None:
            done.calls[requirement.id] = [made.call] if made.call else []
            get_logger().info("criteria tests", requirement=requirement.id, kept=made.kept, refused=made.refused,
                              problem=made.problem)  # fmt: skip
            files.append(made.as_generated())
    written: list[tuple[str, str]] = []
    for generated in files:
        outcome = write_generated(paths.root, generated)
        if outcome.outcome == "kept":
            get_logger().warning("generated tests not written", requirement=requirement.id, reason=outcome.reason)
        elif outcome.outcome == "written":
            get_logger().info("tests written", requirement=requirement.id, path=generated.path,
                              tests=len(generated.tests))  # fmt: skip
            written.append((generated.path, generated.author or EXAMPLES_AUTHOR))
    return written


def _examples(paths: ProjectPaths, requirement: Requirement) -> GeneratedTests:
    generated = render(requirement, paths.root)
    for refusal in generated.refused:
        get_logger().warning("example not translated", requirement=requirement.id, where=str(refusal))
    return generated


def _commit(
    config: Config, repo: GitRepo, requirement: Requirement, written: list[tuple[str, str]], done: TestsFirst
) -> None:
    files = [path for path, _ in written]
    authors = ", ".join(dict.fromkeys(author for _, author in written))
    trailers = {TESTS_FOR_TRAILER: requirement.id, MODEL_TRAILER: authors}
    try:
        sha = repo.commit_paths(files, f"autodev: tests for {requirement.id}", trailers,
                                run_hooks=config.vcs.run_hooks)  # fmt: skip
    except VcsError as error:
        get_logger().error("tests not committed", requirement=requirement.id, files=files, error=str(error))
        done.awaiting_review[requirement.id] = " ".join(files)
        return
    done.committed[requirement.id] = sha
    report(Committed(requirement=requirement.id, sha=sha, files=tuple(files)))
