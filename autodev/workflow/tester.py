"""The tester role writes tests for a requirement's acceptance criteria; only those worth trusting are kept.

The tester (``[roles.tester]``, else the cheapest tier) is asked through an ask session (router, budget, cache,
metrics as role "tester"); its test file is checked without running (each test asserts something, no tautology)
and then run on the current code in the project's disposable copy, under the pass lock: a test is kept only when
it fails there for the requirement's reason (``autodev.testgen.criteria``). The kept ones are written to
``tests/generated/test_<id>_criteria.py`` as autodev's generated files are, never over a file the user owns.
"""

from __future__ import annotations

from collections.abc import Mapping

from autodev.ask.changes import project_test_command, propose, tested_in_copy
from autodev.ask.conversation import ConversationStore
from autodev.ask.session import Answer, AskSession
from autodev.config import Config
from autodev.errors import EditRejectedError
from autodev.fileio import texts_on_disk
from autodev.llm.client import ChatClient
from autodev.passlock import pass_lock
from autodev.project import ProjectPaths
from autodev.records import CODER, RoleCall
from autodev.roles import TESTER
from autodev.spec.model import Requirement
from autodev.testgen.criteria import CriteriaTests, agreed, judged_tests, prompt_for_tester
from autodev.testgen.render import python_modules
from autodev.verify.runner import TestRun
from autodev.workflow.roles import choose
from autodev.workflow_model import WorkflowStep


def criteria_tests(
    paths: ProjectPaths, config: Config, client: ChatClient, env: Mapping[str, str], requirement: Requirement
) -> CriteriaTests:
    """Ask the tester for the requirement's criteria tests and keep those that pass both checks (and, with
    ``[synthesis] tester_agreement``, an implementation written from the description alone)."""
    files = texts_on_disk(paths.root, python_modules(requirement).values())
    answer = _session(paths, config, client, env).ask(prompt_for_tester(requirement, files))

    def run_in_copy(test_files: dict[str, str]) -> TestRun:
        with pass_lock(paths.state_dir, doing="tests gen"):
            _, (run,) = tested_in_copy(paths, [test_files], project_test_command(config, paths))
        return run

    made = judged_tests(requirement, answer.text, answer.model, run_in_copy)
    made.call = role_call(answer, TESTER)
    if made.kept and config.synthesis.tester_agreement:
        changes, implementation = implementation_from_spec(paths, config, client, env, [requirement.source],
                                                           list(python_modules(requirement).values()))  # fmt: skip
        made.calls.append(role_call(implementation, CODER))
        if changes:
            agreed(requirement, made, run_in_copy({**changes, made.path: made.text}))
    return made


IMPLEMENTATION_QUESTION = "Write the code {specs} asks for, in {files}: send each whole file."


def implementation_from_spec(
    paths: ProjectPaths, config: Config, client: ChatClient, env: Mapping[str, str], specs: list[str],
    files: list[str],
) -> tuple[dict[str, str], Answer]:  # fmt: skip
    """One answer from the highest tier to the spec alone, no test shown (as ``autodev ask --apply`` would ask it):
    the files it would write (none when it wrote none), and the answer."""
    store = ConversationStore(paths.conversations_dir)
    session = AskSession(paths, config, client, env, store, store.start())
    session.choose(tier=session.tier_names()[-1])
    session.add_files([*specs, *files])
    answer = session.ask(IMPLEMENTATION_QUESTION.format(specs=", ".join(specs), files=", ".join(files)))
    try:
        return dict(propose(paths.root, answer.text, files).changes), answer
    except EditRejectedError:
        return {}, answer


def role_call(answer: Answer, role: str) -> RoleCall:
    return RoleCall(
        model=answer.model, tier=answer.tier, cached=answer.cached, input_tokens=answer.input_tokens,
        output_tokens=answer.output_tokens, cost_usd=answer.cost_usd, model_seconds=answer.duration_s, role=role,
    )  # fmt: skip


def _session(paths: ProjectPaths, config: Config, client: ChatClient, env: Mapping[str, str]) -> AskSession:
    store = ConversationStore(paths.conversations_dir)
    session = AskSession(paths, config, client, env, store, store.start())
    choice = choose(WorkflowStep(name="tests", role=TESTER, prompt="tests"), config, session.tier_names())
    session.system = choice.system
    session.choose(model=choice.model, tier=choice.tier)
    session.metrics_role, session.metrics_scope = TESTER, "tests gen"
    return session
