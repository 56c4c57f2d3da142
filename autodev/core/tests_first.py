"""Step 1b of a pass with ``[synthesis] test_first``: the specs' examples written as tests before any code.

Each requirement's examples become ``tests/generated/test_<id>.py`` (``autodev.testgen``); a new or changed file
is committed on its own, ``autodev: tests for REQ-1``, before the survey, so the baseline already runs them and
every later attempt is judged by them (and may not change them: they are test files). With ``test_first =
"review"`` the files are written and left uncommitted, and the requirement waits: the user reads them, commits or
edits them, and the next pass goes on. A generated file with uncommitted changes is the user's to review and is
never written over; a file that is not autodev's is never touched at all (``autodev.testgen.write``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from autodev.config import Config
from autodev.errors import VcsError
from autodev.logs import get_logger
from autodev.progress import Committed, report
from autodev.project import ProjectPaths
from autodev.spec.model import Requirement
from autodev.spec.parser import load_specs
from autodev.testgen.render import render
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
    """What the step did: the commits it made, and the requirements whose tests wait for the user."""

    __test__ = False
    committed: dict[str, str] = field(default_factory=dict)  # requirement -> the tests commit
    awaiting_review: dict[str, str] = field(default_factory=dict)  # requirement -> its generated file

    def refusal(self, requirement: str) -> str | None:
        path = self.awaiting_review.get(requirement)
        return REVIEW_REASON.format(path=path) if path else None


def tests_first(paths: ProjectPaths, config: Config, repo: GitRepo) -> TestsFirst:
    """Write (and, unless reviewing, commit) the tests of every requirement that has examples."""
    done = TestsFirst()
    mode = config.synthesis.test_first
    if mode is False:
        return done
    for requirement in load_specs(paths.root, config.specs.paths).requirements:
        if requirement.examples:
            _requirement(paths, config, repo, requirement, done, review=mode == "review")
    return done


def _requirement(
    paths: ProjectPaths, config: Config, repo: GitRepo, requirement: Requirement, done: TestsFirst, *, review: bool
) -> None:
    log = get_logger()
    generated = render(requirement, paths.root)
    for refusal in generated.refused:
        log.warning("example not translated", requirement=requirement.id, where=str(refusal))
    if not generated.text:
        return
    if repo.uncommitted([generated.path]):  # written earlier and not committed: the user is reviewing it
        done.awaiting_review[requirement.id] = generated.path
        return
    written = write_generated(paths.root, generated)
    if written.outcome == "kept":
        log.warning("generated tests not written", requirement=requirement.id, reason=written.reason)
        return
    if written.outcome != "written":
        return
    log.info("tests written from the examples", requirement=requirement.id, path=generated.path,
             tests=len(generated.tests))  # fmt: skip
    if review:
        done.awaiting_review[requirement.id] = generated.path
        return
    trailers = {TESTS_FOR_TRAILER: requirement.id, MODEL_TRAILER: EXAMPLES_AUTHOR}
    try:
        sha = repo.commit_paths([generated.path], f"autodev: tests for {requirement.id}", trailers,
                                run_hooks=config.vcs.run_hooks)  # fmt: skip
    except VcsError as error:
        log.error("tests not committed", requirement=requirement.id, path=generated.path, error=str(error))
        done.awaiting_review[requirement.id] = generated.path
        return
    done.committed[requirement.id] = sha
    report(Committed(requirement=requirement.id, sha=sha, files=(generated.path,)))
