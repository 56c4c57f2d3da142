"""Step 1 of a pass: the repository and autodev's state ready, and any interrupted attempt rolled back."""

from __future__ import annotations

from autodev.journal import recover
from autodev.logs import get_logger
from autodev.project import ProjectPaths
from autodev.vcs import GitRepo
from autodev.vcs.landed import keep_landed_commit
from autodev.verify.leftovers import reap


def prepare(paths: ProjectPaths) -> tuple[GitRepo, list[str]]:
    """The project's repository, and the files restored from an attempt a crash or kill interrupted."""
    log = get_logger()
    repo = GitRepo.open(paths.root)
    if repo.root.resolve() != paths.root.resolve():
        log.info("project inside a larger repository", repository=str(repo.root))
    paths.ensure_state_dirs()
    if repo.ensure_excluded():
        log.info("keeping .autodev/ (but its workflows/ and commands/) out of git through .git/info/exclude")
    leftovers = reap(root=paths.root)  # test processes of a run whose autodev was killed (one pass at a time here)
    if leftovers:
        log.warning("killed test processes left by an interrupted run", pids=leftovers)
    removed = repo.clear_stale_index_lock()  # left by a git command killed with autodev (kill -9, power loss)
    if removed:
        log.warning("stale git lock removed", detail=removed)
    return repo, recover_interrupted(paths, repo)


def recover_interrupted(paths: ProjectPaths, repo: GitRepo) -> list[str]:
    """Roll back an attempt that a crash or kill interrupted, before anything else looks at the files; keep one
    whose commit had landed when it was killed."""
    log = get_logger()
    landed = keep_landed_commit(repo, paths.root, paths.journal_file)
    if landed is not None:
        log.warning("an interrupted attempt had committed its files; kept", commit=landed)
    report = recover(paths.root, paths.journal_file)
    if report.restored:
        log.warning("rolled back an interrupted attempt", restored=list(report.restored))
    if report.conflicts:
        log.warning(
            "files changed since the interrupted attempt were left as they are",
            files=list(report.conflicts),
            journal=report.moved_aside,
        )
    if report.problem:
        log.error("journal could not be used", problem=report.problem, moved_to=report.moved_aside)
    return list(report.restored)
