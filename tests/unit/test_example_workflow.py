"""The example workflow and the action agree: its `if:`, evaluated as GitHub does, starts the job for
exactly the events `parse_event` accepts, and its concurrency group is one per issue or pull request.

Two differences are on purpose, and each is listed here: review events on a fork's pull request
(GitHub gives them a read-only token and no secrets, so the `if:` skips them), and comments that
begin with blank space (GitHub's expressions cannot skip it: the `if:` lets those through when the
phrase is anywhere in them, and the action ends the run at once).
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest
import yaml

from bench.expressions import evaluate_if, render
from codeagent.event import Trigger, parse_event

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = yaml.safe_load((ROOT / ".github" / "workflows" / "codeagent.yml").read_text())
JOB = WORKFLOW["jobs"]["codeagent"]
ON = WORKFLOW.get("on") or WORKFLOW[True]  # YAML 1.1 reads a bare `on` as true
EVENTS = ROOT / "tests" / "fixtures" / "events"

BODIES = [
    "/code", "/code fix it", "/code\nfix it", "/code\r\nfix it", "/code\tfix it", "/code   ", "/code\n",
    "/CODE fix it", "/Code", "/cOdE\r\n", "  /code fix it", "\n/code", "\r\n/code fix it", "\t/code", " \n /code x",
    "/codex", "/codex fix it", "/code-review", "/code.", "/code,please", "/cod", "code", "/", "", " ", "\n",
    "please /code", "text\n/code", "> /code", "`/code`", "**/code**", "/code\u00a0fix it", "/code\ffix it",
    "\u00a0/code", "\ufeff/code", "/code <!-- codeagent:progress run=1 -->", "/code <!-- CODEAGENT:x -->",
    "<!-- codeagent:reply -->\n/code",
    # Blank space first, then not the phrase: the `if:` cannot tell, and starts the job.
    " please /code", "\n/codex", "\t text /code", "\r\n/code-review",
]
BLANK_FIRST_NOT_THE_PHRASE = {" please /code", "\n/codex", "\t text /code", "\r\n/code-review"}
"""The bodies above the `if:` lets through and the action skips: blank space first, then not `/code` as the
first word, but `/code` somewhere (`" "` and `"\n"`, without it, start nothing)."""


def fixture(name: str) -> dict:
    return json.loads((EVENTS / f"{name}.json").read_text())


def with_body(event_name: str, payload: dict, body: str | None) -> dict:
    payload = copy.deepcopy(payload)
    payload["review" if event_name == "pull_request_review" else "comment"]["body"] = body
    return payload


def fork(payload: dict, full_name: str | None = "forkful/textstats") -> dict:
    payload = copy.deepcopy(payload)
    payload["pull_request"]["head"]["repo"] = None if full_name is None else {
        **payload["pull_request"]["head"]["repo"], "full_name": full_name, "fork": True}
    return payload


def bot(payload: dict, field: str, login: str, kind: str) -> dict:
    payload = copy.deepcopy(payload)
    for user in (payload[field]["user"], payload["sender"]):
        user.update(login=login, type=kind)
    return payload


# (name, event name, payload without the body, is it a review event on a fork's pull request)
KINDS = [
    ("issue comment", "issue_comment", fixture("issue_comment.created"), False),
    ("comment on a pull request", "issue_comment", fixture("issue_comment.created.pull_request"), False),
    ("review comment", "pull_request_review_comment", fixture("pull_request_review_comment.created"), False),
    ("review", "pull_request_review", fixture("pull_request_review.submitted"), False),
    ("review comment on a fork", "pull_request_review_comment", fixture("pull_request_review_comment.created.fork"),
     True),
    ("review on a fork", "pull_request_review", fork(fixture("pull_request_review.submitted")), True),
    ("review on a deleted fork", "pull_request_review", fork(fixture("pull_request_review.submitted"), None), True),
    ("comment by a bot", "issue_comment", fixture("issue_comment.created.bot"), False),
    ("comment by an app's user account", "issue_comment",
     bot(fixture("issue_comment.created"), "comment", "renovate[bot]", "User"), False),
    ("review by a bot", "pull_request_review", fixture("pull_request_review.submitted.bot"), False),
    ("review comment by a bot", "pull_request_review_comment",
     bot(fixture("pull_request_review_comment.created"), "comment", "coderabbitai[bot]", "Bot"), False),
    ("edited comment", "issue_comment", fixture("issue_comment.edited"), False),
    ("deleted comment", "issue_comment", {**fixture("issue_comment.created"), "action": "deleted"}, False),
    ("dismissed review", "pull_request_review", {**fixture("pull_request_review.submitted"), "action": "dismissed"},
     False),
]


def contexts(event_name: str, payload: dict) -> dict:
    return {"github": {"event_name": event_name, "event": payload, "repository": payload["repository"]["full_name"],
                       "actor": payload["sender"]["login"]},
            "inputs": payload.get("inputs") or {}}


def workflow_starts(event_name: str, payload: dict, condition: str = JOB["if"]) -> bool:
    """Whether GitHub starts the job: the event and its activity type are in `on:`, and the `if:` holds."""
    if event_name not in ON:
        return False
    types = (ON[event_name] or {}).get("types")
    if types is not None and payload.get("action") not in types:
        return False
    return evaluate_if(condition, contexts(event_name, payload))


def action_accepts(event_name: str, payload: dict, phrase: str = "/code") -> bool:
    return isinstance(parse_event(event_name, payload, phrase), Trigger)


def with_phrase(body: str | None, phrase: str) -> str | None:
    """``body`` with each `/code` (in any case) written as ``phrase`` (upper-cased where it was not `/code`)."""
    if body is None:
        return None
    return re.sub("/code", lambda found: phrase if found[0] == "/code" else phrase.upper(), body, flags=re.IGNORECASE)


def disagreements(phrase: str = "/code", condition: str = JOB["if"]) -> list[tuple[str, str, bool, bool]]:
    """(kind, body, the workflow starts it, the action accepts it) for every case where the two differ."""
    found = []
    for kind, event_name, payload, _ in KINDS:
        for body in [*BODIES, None]:
            event = with_body(event_name, payload, with_phrase(body, phrase))
            starts, accepts = workflow_starts(event_name, event, condition), action_accepts(event_name, event, phrase)
            if starts != accepts:
                found.append((kind, body, starts, accepts))
    return found


def expected_disagreements(phrase: str = "/code") -> list[tuple[str, str, bool, bool]]:
    """The fork review events the action would take and the `if:` skips, and the blank-first bodies."""
    expected = []
    for kind, event_name, payload, fork_review in KINDS:
        for body in [*BODIES, None]:
            event = with_body(event_name, payload, with_phrase(body, phrase))
            if fork_review and action_accepts(event_name, event, phrase):
                expected.append((kind, body, False, True))
            elif (body in BLANK_FIRST_NOT_THE_PHRASE and not fork_review and payload["action"] in ("created", "submitted")
                  and payload["sender"]["type"] != "Bot" and not payload["sender"]["login"].endswith("[bot]")):
                expected.append((kind, body, True, False))
    return expected


def test_the_if_starts_exactly_what_the_action_accepts_but_for_the_listed_differences():
    found = disagreements()
    assert found == expected_disagreements()
    # The corpus holds both sides: requests that run, and lookalikes that do not.
    assert action_accepts("issue_comment", with_body("issue_comment", KINDS[0][2], "/code\r\nfix it"))
    assert not workflow_starts("issue_comment", with_body("issue_comment", KINDS[0][2], "/codex"))
    assert not workflow_starts("issue_comment", with_body("issue_comment", KINDS[0][2], "/code-review"))
    assert workflow_starts("issue_comment", with_body("issue_comment", KINDS[0][2], "  /code fix it"))
    assert len({(kind, body) for kind, body, *_ in found}) == len(found) > 0


def test_no_request_the_action_takes_is_left_without_a_run_except_fork_review_events():
    for kind, body, starts, accepts in disagreements():
        assert starts or kind.startswith("review") and "fork" in kind, (kind, body)


@pytest.mark.parametrize("phrase", ["@agent", "/AI", "!bot"])
def test_with_another_trigger_phrase_replacing_each_code_in_the_if_keeps_them_agreeing(phrase):
    condition = JOB["if"].replace("/code", phrase)
    assert condition != JOB["if"]
    assert disagreements(phrase, condition) == expected_disagreements(phrase)


def test_the_unchanged_if_never_starts_for_another_trigger_phrase():
    # What the action.yml and README warn about: the phrase changed, the `if:` not.
    event = with_body("issue_comment", KINDS[0][2], "@agent fix it")
    assert action_accepts("issue_comment", event, "@agent") and not workflow_starts("issue_comment", event)


def test_a_manual_run_always_starts():
    assert workflow_starts("workflow_dispatch", fixture("workflow_dispatch"))


def group(event_name: str, payload: dict) -> str:
    return render(JOB["concurrency"]["group"], contexts(event_name, payload))


def test_runs_wait_in_one_queue_per_issue_or_pull_request_and_none_is_cancelled():
    concurrency = JOB["concurrency"]
    assert "concurrency" not in WORKFLOW  # on the job: a comment the `if:` skips never joins a group
    assert concurrency["queue"] == "max" and not concurrency.get("cancel-in-progress")
    issue, pull = fixture("issue_comment.created"), fixture("issue_comment.created.pull_request")
    assert group("issue_comment", issue) == f"codeagent-{issue['issue']['number']}"
    assert group("workflow_dispatch", fixture("workflow_dispatch")) == f"codeagent-{issue['issue']['number']}"
    number = pull["issue"]["number"]
    assert group("issue_comment", pull) == f"codeagent-{number}"
    review = fixture("pull_request_review_comment.created")
    assert group("pull_request_review_comment", review) == f"codeagent-{review['pull_request']['number']}"
    assert group("pull_request_review", fixture("pull_request_review.submitted")) == \
        f"codeagent-{fixture('pull_request_review.submitted')['pull_request']['number']}"
