"""Event payloads (real GitHub shapes) read into a Trigger, a Skip, or a clear EventError."""

import copy
import json

import pytest

from codeagent.errors import EventError
from codeagent.github_types import Issue
from codeagent.event import Skip, Trigger, command_instructions, parse_event
from tests.unit.golden import FIXTURES


def payload(name: str) -> dict:
    return json.loads((FIXTURES / "events" / f"{name}.json").read_text())


def comment(body: str) -> dict:
    event = payload("issue_comment.created")
    event["comment"]["body"] = body
    return event


def error_message(event_name: str, event: object) -> str:
    with pytest.raises(EventError) as caught:
        parse_event(event_name, event, "/code")
    return str(caught.value)


def test_a_code_comment_on_an_issue_is_a_trigger():
    trigger = parse_event("issue_comment", payload("issue_comment.created"), "/code")
    assert trigger == Trigger(
        event_name="issue_comment",
        repository="octo-org/textstats",
        default_branch="main",
        issue_number=7,
        actor="octo-owner",
        instructions="keep the implementation to one line",
        is_pull_request=False,
        comment_id=2590000001,
        subject=Issue(7, "Add a word_count helper", trigger.subject.body, "octo-owner"),
        requested_at="2025-01-12T10:05:00Z",
    )
    assert trigger.subject.body.startswith("`textstats` can count characters but not words.")
    assert trigger.comment_kind == "issue_comment"


@pytest.mark.parametrize("body, instructions", [
    ("/code", ""),
    ("/code   ", ""),
    ("  \n/code fix it", "fix it"),
    ("/code\nUse the standard library.\nAdd a test.", "Use the standard library.\nAdd a test."),
    ("/code\tplease", "please"),
    ("/code\r\nfix it", "fix it"),
    ("\r\n\t /CODE fix it", "fix it"),
])
def test_the_trigger_phrase_must_be_the_first_word(body, instructions):
    trigger = parse_event("issue_comment", comment(body), "/code")
    assert isinstance(trigger, Trigger) and trigger.instructions == instructions


@pytest.mark.parametrize("body", ["/codex do it", "please /code", "`/code`", "", "/code-review", "> /code",
                                  # only spaces, tabs and line breaks separate it: what the workflow's `if:` checks
                                  "/code\u00a0fix it", "\u00a0/code fix it", "/code\ffix it", "\v/code"])
def test_other_comments_are_skipped_with_the_reason(body):
    assert parse_event("issue_comment", comment(body), "/code") == Skip("the comment does not start with `/code`")


def test_the_trigger_phrase_is_configurable():
    assert isinstance(parse_event("issue_comment", comment("@agent go"), "@agent"), Trigger)
    assert isinstance(parse_event("issue_comment", comment("/code go"), "@agent"), Skip)


def test_a_comment_without_a_body_is_skipped():
    assert isinstance(parse_event("issue_comment", comment(None), "/code"), Skip)


def test_command_instructions():
    assert command_instructions("/code  add tests ", "/code") == "add tests"
    assert command_instructions("/codex", "/code") is None


def test_an_edited_comment_is_skipped():
    assert parse_event("issue_comment", payload("issue_comment.edited"), "/code") == Skip(
        "the comment was edited, and only new comments trigger a run")


def test_a_bots_comment_is_skipped_even_when_it_starts_with_the_phrase():
    assert parse_event("issue_comment", payload("issue_comment.created.bot"), "/code") == Skip(
        "the comment is by the bot `github-actions[bot]`, and bots cannot trigger a run")


def test_a_login_ending_in_bot_counts_as_a_bot_whatever_its_type():
    event = comment("/code go")
    event["comment"]["user"].update(login="renovate[bot]", type="User")
    assert parse_event("issue_comment", event, "/code") == Skip(
        "the comment is by the bot `renovate[bot]`, and bots cannot trigger a run")


def test_a_code_comment_on_a_pull_request_is_a_trigger_for_the_pull_request():
    trigger = parse_event("issue_comment", payload("issue_comment.created.pull_request"), "/code")
    assert (trigger.issue_number, trigger.instructions, trigger.comment_id) == (8, "also handle tabs", 2590000002)
    assert trigger.is_pull_request and trigger.subject.is_pull_request and trigger.comment_kind == "issue_comment"


def test_the_trigger_phrase_ignores_case_as_the_workflow_s_startswith_does():
    trigger = parse_event("issue_comment", comment("/Code fix it"), "/code")
    assert isinstance(trigger, Trigger) and trigger.instructions == "fix it"


def test_workflow_dispatch_names_the_issue_in_its_inputs():
    trigger = parse_event("workflow_dispatch", payload("workflow_dispatch"), "/code")
    assert trigger == Trigger(
        event_name="workflow_dispatch",
        repository="octo-org/textstats",
        default_branch="main",
        issue_number=7,
        actor="octo-owner",
        instructions="keep the implementation to one line",
        is_pull_request=False,
    )
    assert trigger.comment_kind is None and trigger.subject is None  # read through the API when the run starts


@pytest.mark.parametrize("inputs, number", [({"issue-number": "#12"}, 12), ({"issue_number": 3}, 3),
                                            ({"issue-number": " 5 ", "instructions": ""}, 5)])
def test_workflow_dispatch_accepts_the_number_in_any_reasonable_spelling(inputs, number):
    event = payload("workflow_dispatch") | {"inputs": inputs}
    trigger = parse_event("workflow_dispatch", event, "/code")
    assert trigger.issue_number == number and trigger.instructions == ""


@pytest.mark.parametrize("value", ["seven", "0", "-3", "1.5", True])
def test_workflow_dispatch_with_an_invalid_issue_number_says_what_to_fix(value):
    event = payload("workflow_dispatch") | {"inputs": {"issue-number": value}}
    assert error_message("workflow_dispatch", event) == (
        f"the `workflow_dispatch` input `issue-number` must be an issue number like `7`, got {str(value)!r}; "
        "run the workflow again with a valid number")


@pytest.mark.parametrize("inputs", [{}, None, {"issue-number": ""}])
def test_workflow_dispatch_without_an_issue_number_says_how_to_add_the_input(inputs):
    event = payload("workflow_dispatch") | {"inputs": inputs}
    assert "add `issue-number` under `on: workflow_dispatch: inputs:`" in error_message("workflow_dispatch", event)


@pytest.mark.parametrize("event_name", ["push", "issues", "pull_request", "schedule", ""])
def test_other_events_are_skipped_naming_the_event(event_name):
    assert parse_event(event_name, {}, "/code") == Skip(
        f"the `{event_name}` event is not handled; codeagent runs on `issue_comment`, "
        "`pull_request_review_comment`, `pull_request_review`, `workflow_dispatch`")


@pytest.mark.parametrize("path, value, field", [
    (("action",), None, "action"),
    (("issue",), None, "issue.number"),
    (("issue", "number"), "7", "issue.number"),
    (("issue", "number"), True, "issue.number"),
    (("comment", "id"), None, "comment.id"),
    (("comment", "user"), "octo-owner", "comment.user.login"),
    (("repository",), [], "repository.full_name"),
    (("comment", "body"), 42, "comment.body"),
])
def test_a_malformed_issue_comment_payload_is_an_event_error_naming_the_field(path, value, field):
    event = copy.deepcopy(payload("issue_comment.created"))
    target = event
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    message = error_message("issue_comment", event)
    assert message.startswith("the `issue_comment` event payload has no ")
    assert f"`{field}`" in message and "GITHUB_EVENT_PATH" in message


def test_a_payload_that_is_not_an_object_is_an_event_error():
    assert "is not a JSON object" in error_message("issue_comment", ["not", "an", "object"])


def test_workflow_dispatch_without_a_sender_is_an_event_error():
    event = payload("workflow_dispatch")
    del event["sender"]
    assert "`sender.login`" in error_message("workflow_dispatch", event)


def test_workflow_dispatch_fixture_with_a_word_for_a_number_says_what_to_fix():
    assert error_message("workflow_dispatch", payload("workflow_dispatch.bad_issue_number")) == (
        "the `workflow_dispatch` input `issue-number` must be an issue number like `7`, got 'seven'; "
        "run the workflow again with a valid number")


@pytest.mark.parametrize("value", ["²", "٣", "1e3", "+4"])
def test_workflow_dispatch_accepts_only_plain_ascii_digits(value):
    event = payload("workflow_dispatch") | {"inputs": {"issue-number": value}}
    assert "must be an issue number like `7`" in error_message("workflow_dispatch", event)


def test_workflow_dispatch_with_non_text_instructions_is_an_event_error():
    event = payload("workflow_dispatch") | {"inputs": {"issue-number": "7", "instructions": ["a"]}}
    assert error_message("workflow_dispatch", event) == (
        "the `workflow_dispatch` input `instructions` must be text; run the workflow again with text in it (or declare "
        "the input as `type: string`)")


def _field_paths(data: dict, prefix: tuple = ()):
    for key, value in data.items():
        yield prefix + (key,)
        if isinstance(value, dict) and key not in ("repository", "organization", "owner", "reactions", "_links"):
            yield from _field_paths(value, prefix + (key,))


@pytest.mark.parametrize("fixture", sorted(path.stem for path in (FIXTURES / "events").glob("*.json")))
def test_any_field_broken_anywhere_gives_a_result_or_an_event_error_never_a_crash(fixture):
    original = payload(fixture)
    for path in _field_paths(original):
        for value in (None, "x", 42, [], {}, True):
            event = copy.deepcopy(original)
            target = event
            for key in path[:-1]:
                target = target[key]
            target[path[-1]] = value
            try:
                assert isinstance(parse_event(fixture.split(".")[0], event, "/code"), Trigger | Skip)
            except EventError:
                pass
