"""The tester role writes tests for a requirement's acceptance criteria; only those worth trusting are kept.

The tester (``[roles.tester]``, else the cheapest tier) is asked through an ask session (router, budget, cache,
metrics as role "tester"); its test file is checked without running (each test asserts something, no tautology)
and then run on the current code in the project's disposable copy, under the pass lock: a test is kept only when
it fails there for the requirement's reason (``autodev.testgen.criteria``). The kept ones are written to
``tests/generated/test_<id>_criteria.py`` as autodev's generated files are, never over a file the user owns.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from autodev.ask.changes import project_test_command, tested_in_copy
from autodev.ask.conversation import ConversationStore
from autodev.ask.session import AskSession
from autodev.config import Config
from autodev.fileio import texts_on_disk
from autodev.llm.client import ChatClient
from autodev.passlock import pass_lock
from autodev.project import ProjectPaths
from autodev.records import RoleCall
from autodev.spec.model import Requirement
from autodev.testgen.coverage import generated_path
from autodev.testgen.criteria import (
    defined_test_names,
    kept_file,
    prompt_for_tester,
    red_first,
    reply_code,
    static_refusals,
)
from autodev.testgen.render import HEADER, GeneratedTests, python_modules, stamped
from autodev.workflow.roles import choose
from autodev.workflow_model import WorkflowStep

TESTER = "tester"


@dataclass
class CriteriaTests:
    """The tester's tests for one requirement: the file to write (empty when none is kept), kept and refused."""

    requirement: str
    path: str
    text: str = ""
    kept: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)  # test name -> why
    model: str = ""
    problem: str = ""  # why there is no test at all (no code in the reply)
    call: RoleCall | None = None  # the tester's call: what it cost

    def as_generated(self) -> GeneratedTests:
        return GeneratedTests(self.requirement, self.path, self.text, [(name, 0) for name in self.kept])


def criteria_path(requirement: Requirement) -> str:
    return generated_path(requirement).removesuffix(".py") + "_criteria.py"


def criteria_tests(
    paths: ProjectPaths, config: Config, client: ChatClient, env: Mapping[str, str], requirement: Requirement
) -> CriteriaTests:
    """Ask the tester for the requirement's criteria tests and keep those that pass both checks."""
    path = criteria_path(requirement)
    modules = python_modules(requirement)
    files = texts_on_disk(paths.root, modules.values())
    answer = _session(paths, config, client, env).ask(prompt_for_tester(requirement, files))
    call = RoleCall(
        model=answer.model, tier=answer.tier, cached=answer.cached, input_tokens=answer.input_tokens,
        output_tokens=answer.output_tokens, cost_usd=answer.cost_usd, model_seconds=answer.duration_s, role=TESTER,
    )  # fmt: skip
    result = CriteriaTests(requirement.id, path, model=answer.model, call=call)
    code = reply_code(answer.text)
    if code is None:
        result.problem = "the tester's reply has no Python test file"
        return result
    result.refused = static_refusals(code)
    names = [name for name in defined_test_names(code) if name not in result.refused]
    if not names:
        result.problem = "the tester wrote no test that asserts something" if result.refused else "no test function"
        return result
    with pass_lock(paths.state_dir, doing="tests gen"):
        _, (run,) = tested_in_copy(paths, [{path: code}], project_test_command(config, paths))
    for name, why in red_first(run, path, names, list(modules)).items():
        if why is None:
            result.kept.append(name)
        else:
            result.refused[name] = why
    if result.kept:
        header = f"{HEADER} {requirement.source}, requirement {requirement.id}: tests {answer.model} wrote for its " \
                 "acceptance criteria, each failing on the code as it was."  # fmt: skip
        marker = "" if requirement.whole_file else f"\npytestmark = pytest.mark.req({requirement.id!r})\n"
        body = kept_file(code, result.kept)
        if marker and "import pytest" not in body:
            body = "import pytest\n" + body
        result.text = stamped(header, body + marker)
    return result


def _session(paths: ProjectPaths, config: Config, client: ChatClient, env: Mapping[str, str]) -> AskSession:
    store = ConversationStore(paths.conversations_dir)
    session = AskSession(paths, config, client, env, store, store.start())
    choice = choose(WorkflowStep(name="tests", role=TESTER, prompt="tests"), config, session.tier_names())
    session.system = choice.system
    session.choose(model=choice.model, tier=choice.tier)
    session.metrics_role, session.metrics_scope = TESTER, "tests gen"
    return session
