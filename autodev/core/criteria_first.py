"""In a pass with ``[synthesis] test_first`` and ``[roles.tester]``: the tester's tests for a requirement's
acceptance criteria, asked once per version of the requirement and judged before any code is written.

The tester is asked through the router (its tier from ``[roles.tester]``, its call a metrics line of role
"tester"), and its tests are kept only when they assert something and fail on the current code for the
requirement's reason, run in the project's disposable copy (``autodev.testgen.criteria``). The pass already holds
the pass lock. A requirement is asked about again only when its text or criteria change: the digest each was asked
for is remembered under ``.autodev/testgen/``, so a tester whose tests were all refused is not asked every pass.
"""

from __future__ import annotations

import json
from pathlib import Path

from autodev.config import Config
from autodev.core.assignment import LabelledTestRun
from autodev.core.role_tier import role_tier
from autodev.errors import BudgetExceededError, ModelError
from autodev.fileio import atomic_write, texts_on_disk
from autodev.llm.client import Message
from autodev.logs import get_logger
from autodev.project import ProjectPaths
from autodev.records import RoleCall
from autodev.roles import TESTER, role_instructions
from autodev.route import CallLog, Router, call_facts
from autodev.spec.model import Requirement
from autodev.testgen.coverage import criteria_digest, criteria_path
from autodev.testgen.criteria import CriteriaTests, judged_tests, prompt_for_tester
from autodev.testgen.render import python_modules
from autodev.testgen.write import criteria_settled
from autodev.verify.copy import copy_for
from autodev.verify.runner import TestRun

TESTER_REPLY_TOKENS = 2048  # a test file for a handful of criteria


class CriteriaTester:
    """Asks the tester for a requirement's criteria tests when they are wanted and not yet asked for."""

    def __init__(self, paths: ProjectPaths, config: Config, router: Router, run: LabelledTestRun) -> None:
        self.paths, self.config, self.router, self.run = paths, config, router, run
        self.asked_dir = paths.state_dir / "testgen"

    def wanted(self, requirement: Requirement) -> bool:
        """A requirement with criteria whose tests were not yet asked for in this version, in a file still
        autodev's to write (a criteria file the user wrote or edited is theirs)."""
        if TESTER not in self.config.roles or not requirement.criteria:
            return False
        return self._asked(requirement) != criteria_digest(requirement) and not criteria_settled(
            self.paths.root, requirement
        )

    def tests_for(self, requirement: Requirement) -> CriteriaTests | None:
        """The judged tests (None: the tester could not be asked: no tier, an error, the budget)."""
        log = CallLog(requirement.id, self.router.metrics)
        caller = self.router.caller(requirement.id, log.call_failed)
        tier = role_tier(self.config, TESTER, caller.tiers)
        if tier is None:
            return None
        try:
            model, completion = caller.ask(tier, self._messages(requirement), repair=False, attempt=0, role=TESTER,
                                           reply_tokens=TESTER_REPLY_TOKENS)  # fmt: skip
        except (ModelError, BudgetExceededError) as error:
            get_logger().warning("no criteria tests", requirement=requirement.id, reason=str(error))
            return None
        facts = call_facts(model.name, tier.name, completion)
        log.role_call(TESTER, facts)
        made = judged_tests(requirement, completion.text, model.name, self._run_in_copy)
        made.call = RoleCall(**facts.model_dump(), role=TESTER)
        self._remember(requirement, made)
        return made

    def _messages(self, requirement: Requirement) -> list[Message]:
        role = self.config.roles.get(TESTER)
        system = role_instructions(TESTER, role.prompt_file if role is not None else None)
        files = texts_on_disk(self.paths.root, python_modules(requirement).values())
        messages: list[Message] = [{"role": "system", "content": system}] if system else []
        messages.append({"role": "user", "content": prompt_for_tester(requirement, files)})
        return messages

    def _run_in_copy(self, files: dict[str, str]) -> TestRun:
        copy = copy_for(self.paths.root, self.paths.trial_copy_dir)
        copy.prepare(files)
        return self.run("the tester's tests", copy.root)

    def _record_path(self, requirement: Requirement) -> Path:
        return self.asked_dir / f"{Path(criteria_path(requirement)).stem}.json"

    def _asked(self, requirement: Requirement) -> str | None:
        try:
            data = json.loads(self._record_path(requirement).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data.get("digest") if isinstance(data, dict) else None

    def _remember(self, requirement: Requirement, made: CriteriaTests) -> None:
        record = {"digest": criteria_digest(requirement), "model": made.model, "kept": made.kept,
                  "refused": made.refused, "problem": made.problem}  # fmt: skip
        self.asked_dir.mkdir(parents=True, exist_ok=True)
        atomic_write(self._record_path(requirement), json.dumps(record, indent=2).encode("utf-8"))
