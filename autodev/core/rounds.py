"""One round at one tier: ask for candidates, turn each reply into changes, and try them.

One candidate is tried in the user's tree directly (through a :class:`~autodev.core.trial.Trial`). Several are
first tested side by side in scratch copies, and only one green one, chosen among the green ones
(:mod:`autodev.core.consensus`), is tried in the user's tree, so the tree only ever receives a change that already
made the tests pass somewhere.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence

from autodev.core.assignment import Assignment
from autodev.core.attempts import AttemptLog, call_facts
from autodev.core.candidate import reply_changes, try_all_in_scratch
from autodev.core.consensus import Consensus
from autodev.core.learned import Learned
from autodev.core.prompt import files_request_messages
from autodev.core.trial import Trial
from autodev.core.tried import Round, Tried, after_trial, red, rejected
from autodev.core.verified import VerifiedStore
from autodev.errors import BudgetExceededError, EditRejectedError, ModelError, NoEditError
from autodev.llm.client import Completion, Message
from autodev.llm.models import ResolvedModel
from autodev.llm.stream import LOOPED, reading_until
from autodev.logs import get_logger
from autodev.progress import Decided, report
from autodev.route import TierCaller, TierPlan
from autodev.synth.reply_done import every_target_written
from autodev.synth.runner_access import check_runner_access
from autodev.vcs.control import changed, snapshot
from autodev.verify.verdict import Verdict

_LOGGED_REPLY_CHARS = 8000
_CUT_OFF = ("length", LOOPED)  # a reply that did not end by itself
Answer = tuple[ResolvedModel, Completion]


def _joined(first: Completion, more: Completion) -> Completion:
    """Two calls of one attempt as one answer: the texts in order, what they cost added up."""
    return more.model_copy(
        update={
            "text": f"{first.text.rstrip()}\n\n{more.text}",
            "input_tokens": first.input_tokens + more.input_tokens,
            "output_tokens": first.output_tokens + more.output_tokens,
            "cost_usd": first.cost_usd + more.cost_usd,
            "duration_s": first.duration_s + more.duration_s,
            "cached": first.cached and more.cached,
        }
    )


class Rounds:
    """Runs the rounds of one requirement's climb; green changes are remembered for a later replay."""

    def __init__(
        self, assignment: Assignment, caller: TierCaller, trial: Trial, log: AttemptLog, *, store: VerifiedStore,
        key: str, learned: Learned | None = None,
    ) -> None:  # fmt: skip
        self.assignment = assignment
        self.caller = caller
        self.trial = trial
        self.log = log
        self.store = store
        self.key = key
        self.learned = learned  # the learning store's use for this requirement: a green change is kept there too
        self.reply_tokens: int | None = None  # a local model's replies are cut there (synth/reply_bound.py)
        self.logger = get_logger()

    def run(self, tier: TierPlan, messages: list[Message], samples: int, *, repair: bool) -> Round:
        """Ask the tier for ``samples`` candidates and try them; only one green one is tried in the user's tree."""
        answers = self._ask(tier, messages, samples, repair=repair)
        if samples == 1:
            return Round([self._in_place(tier, self._with_files(tier, messages, answers[0]))])
        self.logger.info("candidates", tier=tier.name, count=len(answers), models=[model.name for model, _ in answers])
        return self._sampled(tier, [self._with_files(tier, messages, answer) for answer in answers])

    def _ask(self, tier: TierPlan, messages: list[Message], samples: int, *, repair: bool) -> list[Answer]:
        """The round's answers; a local model's read only until it holds every target (synth/reply_done.py).

        Hosted models write fast and report their usage at the end of the stream: cutting them short would save
        little and leave their cost an estimate.
        """
        with self._reading(tier):
            if samples == 1:
                attempt = len(self.log.records)
                return [self.caller.ask(tier, messages, repair=repair, attempt=attempt, reply_tokens=self.reply_tokens)]
            return self.caller.ask_samples(tier, messages, samples, reply_tokens=self.reply_tokens)

    def _reading(self, tier: TierPlan) -> contextlib.AbstractContextManager[None]:
        local = self.caller.resolve(tier.models[0]).served_locally
        done = every_target_written(self.assignment.targets) if local else None
        return reading_until(done) if done is not None else contextlib.nullcontext()

    def _with_files(self, tier: TierPlan, messages: list[Message], answer: Answer) -> Answer:
        """An answer of prose alone that ended by itself is followed by a request for the files, once, in the same
        attempt (``[synthesis] ask_for_files``): the model explained and stopped. The two calls count as one
        answer; a failed follow-up leaves the first answer to be recorded as it is. A sampled round's candidates
        are each followed up the same way (row 11 of benchmarks/results/solve-rate/: without it, 10 of 72 local
        candidates were rejected for having no file)."""
        model, completion = answer
        if not self.assignment.config.synthesis.ask_for_files or not self._explained_only(completion):
            return answer
        self.logger.info("files asked for", model=model.name, reason="the reply explained and sent no file")
        follow_up = files_request_messages(self.assignment, messages, completion.text)
        try:
            with self._reading(tier):
                more = self.caller.again(model, follow_up)
        except (ModelError, BudgetExceededError) as error:
            self.logger.warning("no files after the explanation", model=model.name, error=str(error))
            return answer
        self.caller.forget(completion)
        return model, _joined(completion, more)

    def _explained_only(self, completion: Completion) -> bool:
        """Prose with no code block, ended by the model: a diff, a cut-off reply or a refused edit is not asked on."""
        if completion.finish_reason in _CUT_OFF or "```" in completion.text or not completion.text.strip():
            return False
        try:
            self._changes(completion)
        except NoEditError:
            return True
        except EditRejectedError:
            pass
        return False

    def _judged(self, tried: Tried, completion: Completion) -> Tried:
        """An answer the tests or the checks rejected leaves the response cache: a rerun asks again, not replays it."""
        if tried.record.outcome in ("red", "rejected"):
            self.caller.forget(completion)
        return tried

    def _in_place(self, tier: TierPlan, answer: Answer) -> Tried:
        model, completion = answer
        self.logger.debug("model reply", model=model.name, reply=completion.text[:_LOGGED_REPLY_CHARS])
        try:
            changes = self._changes(completion)
        except EditRejectedError as error:
            facts = call_facts(model.name, tier.name, completion)
            tried = rejected(self.log, facts, completion.text, error, self.assignment.target_count)
            return self._judged(tried, completion)
        return self._try(tier, answer, changes)

    def _try(self, tier: TierPlan, answer: Answer, changes: dict[str, str]) -> Tried:
        """Try the changes in the user's tree and record what became of them."""
        model, completion = answer
        facts = call_facts(model.name, tier.name, completion)
        label = f"attempt {len(self.log.records) + 1}"
        outcome = self.trial.run(changes, label=label, author=completion.model)
        tried = after_trial(self.log, facts, outcome, changes, reply=completion.text,
                            target_count=self.assignment.target_count)  # fmt: skip
        if tried.green:
            self.store.put(self.key, model.name, changes)
            if self.learned is not None:
                self.learned.green(changes, model.name, tier.name, sum(record.cost_usd for record in self.log.records))
        return self._judged(tried, completion)

    def _sampled(self, tier: TierPlan, answers: Sequence[Answer]) -> Round:
        """Each candidate tested in its own scratch copy; one green one, chosen (core/consensus.py), is tried in
        place and committed."""
        round_ = Round()
        testable: list[tuple[int, Answer, dict[str, str]]] = []  # the answer's number (from 1), it, its changes
        for number, (model, completion) in enumerate(answers, start=1):
            self.logger.debug("model reply", model=model.name, candidate=number,
                              reply=completion.text[:_LOGGED_REPLY_CHARS])  # fmt: skip
            try:
                testable.append((number, (model, completion), self._changes(completion)))
            except EditRejectedError as error:
                facts = call_facts(model.name, tier.name, completion)
                tried = rejected(self.log, facts, completion.text, error, self.assignment.target_count)
                round_.tried.append(self._judged(tried, completion))
        work = self.assignment
        before = snapshot(work.repo.dirs, work.root)
        runs = try_all_in_scratch(
            work.root,
            [changes for _, _, changes in testable],
            lambda copy: work.run_tests("candidate", copy),
            workers=os.cpu_count() or 1,
        )
        verdicts = [self.trial.judge(run) for run in runs]
        chosen, not_chosen = self._choose(tier, testable, verdicts)  # the probes run here, in copies too
        git_changed = changed(before, snapshot(work.repo.dirs, work.root))  # which candidate did it is not known
        if git_changed:
            verdicts = [self.trial.git_changed(v, git_changed, warn=i == 0) for i, v in enumerate(verdicts)]
            chosen = None
        for index, ((_, answer, changes), run, verdict) in enumerate(zip(testable, runs, verdicts, strict=True)):
            if index == chosen:
                round_.tried.append(self._try(tier, answer, changes))
                continue
            model, completion = answer
            reason = not_chosen.get(index, verdict.reason) if verdict.green else verdict.reason
            facts = call_facts(model.name, tier.name, completion)
            tried = red(self.log, facts, run, verdict, reason, changes, reply=completion.text,
                        target_count=work.target_count)  # fmt: skip
            round_.tried.append(self._judged(tried, completion))
        return round_

    def _choose(
        self, tier: TierPlan, testable: Sequence[tuple[int, Answer, dict[str, str]]], verdicts: Sequence[Verdict]
    ) -> tuple[int | None, dict[int, str]]:
        """Which green candidate is tried in place (an index into ``testable``), and why each other green one is
        not; logged and shown with the candidate's number among the round's answers."""
        green = [index for index, verdict in enumerate(verdicts) if verdict.green]
        if not green:
            return None, {}
        choice = Consensus(self.assignment).choose([testable[index][2] for index in green])
        number = testable[green[choice.index]][0]
        self.logger.info("candidate chosen", tier=tier.name, candidate=number, green=len(green),
                         reason=choice.reason)  # fmt: skip
        report(Decided(action="choose", tier=tier.name, reason=f"candidate {number}: {choice.reason}"))
        return green[choice.index], {green[i]: reason for i, reason in choice.others.items()}

    def _changes(self, completion: Completion) -> dict[str, str]:
        """The reply as changed files; files the user changed and did not commit are never written."""
        work = self.assignment
        try:
            changes = reply_changes(
                work.root, completion.text, targets=work.targets, tests=work.tests, protected=work.protected
            )
        except EditRejectedError as error:
            if completion.finish_reason != LOOPED:
                raise
            raise EditRejectedError(
                "Your reply repeated the same text over and over and was cut off. Write each line once.",
                summary="the reply looped and was cut off",
            ) from error
        if not work.config.tests.allow_runner_access:
            check_runner_access(changes)
        dirty = work.repo.uncommitted(changes)
        if dirty:
            raise EditRejectedError(
                f"{', '.join(dirty)} has uncommitted changes by the user and must not be edited; change other files.",
                summary=f"the reply edits {', '.join(dirty)}, which the user changed and has not committed",
            )
        return changes
