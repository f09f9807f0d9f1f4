"""Pull request events: review comments, reviews, forks, bots and the action's own comments."""

import copy

import pytest

from codeagent.event import ReviewContext, Skip, Trigger, parse_event
from tests.unit.test_event import error_message, payload

SAME_REPO_HUNK = ('@@ -0,0 +1,6 @@\n+"""Word statistics."""\n+\n+\n+def word_count(text: str) -> int:\n'
                  '+    """The number of words in `text`."""\n+    return len(text.split(" "))')


def review_comment(body: str) -> dict:
    event = payload("pull_request_review_comment.created")
    event["comment"]["body"] = body
    return event


def test_a_code_review_comment_is_a_trigger_with_the_lines_it_points_at():
    trigger = parse_event("pull_request_review_comment", payload("pull_request_review_comment.created"), "/code")
    assert (trigger.event_name, trigger.issue_number, trigger.actor, trigger.comment_id, trigger.default_branch) == (
        "pull_request_review_comment", 8, "octo-owner", 1910000001, "main")
    assert trigger.instructions == "split on any whitespace, not only spaces" and trigger.is_pull_request
    assert trigger.review_context == ReviewContext(path="textstats/words.py", line=6, start_line=None, side="RIGHT",
                                                   diff_hunk=SAME_REPO_HUNK, thread_comment_id=1910000001)
    assert trigger.subject.number == 8 and trigger.subject.is_pull_request and trigger.requested_at
    assert trigger.comment_kind == "review_comment"


def test_a_review_comment_on_a_fork_is_a_trigger_the_workflow_refuses_after_reading_the_pull_request():
    trigger = parse_event("pull_request_review_comment", payload("pull_request_review_comment.created.fork"), "/code")
    assert trigger.issue_number == 9
    assert trigger.instructions == "count `...` as one sentence end\n\nAdd a test for it."


def test_a_multi_line_reply_keeps_its_range_and_replies_go_to_the_top_of_the_thread():
    trigger = parse_event("pull_request_review_comment", payload("pull_request_review_comment.created.fork"), "/code")
    context = trigger.review_context
    assert (context.start_line, context.line, context.side) == (8, 9, "RIGHT")
    assert (trigger.comment_id, context.thread_comment_id) == (1910000002, 1910000000)


def test_an_outdated_review_comment_points_at_its_original_lines():
    event = review_comment("/code go")
    event["comment"].update(line=None, original_line=4, start_line=None, original_start_line=3)
    context = parse_event("pull_request_review_comment", event, "/code").review_context
    assert (context.start_line, context.line) == (3, 4)


def test_a_comment_on_a_whole_file_has_no_line():
    event = review_comment("/code go")
    event["comment"].update(line=None, original_line=None, side=None, subject_type="file")
    context = parse_event("pull_request_review_comment", event, "/code").review_context
    assert (context.line, context.side) == (None, None)


def test_a_pull_request_whose_fork_was_deleted_is_still_a_trigger_the_workflow_refuses():
    event = payload("pull_request_review_comment.created.fork")
    event["pull_request"]["head"]["repo"] = None
    assert isinstance(parse_event("pull_request_review_comment", event, "/code"), Trigger)


@pytest.mark.parametrize("body", ["please /code", "", None, "/codex"])
def test_review_comments_not_starting_with_the_phrase_are_skipped(body):
    assert parse_event("pull_request_review_comment", review_comment(body), "/code") == Skip(
        "the review comment does not start with `/code`")


@pytest.mark.parametrize("action", ["edited", "deleted"])
def test_only_new_review_comments_trigger(action):
    event = review_comment("/code go") | {"action": action}
    assert parse_event("pull_request_review_comment", event, "/code") == Skip(
        f"the review comment was {action}, and only new review comments trigger a run")


def test_a_submitted_code_review_is_a_trigger_without_a_comment():
    trigger = parse_event("pull_request_review", payload("pull_request_review.submitted"), "/code")
    assert (trigger.event_name, trigger.issue_number, trigger.actor, trigger.comment_id) == (
        "pull_request_review", 8, "octo-owner", None)
    assert trigger.instructions == "address the comments above, and keep `word_count` a one-liner"
    assert trigger.is_pull_request and trigger.subject.number == 8 and trigger.comment_kind is None


def test_a_review_without_text_is_skipped():
    assert parse_event("pull_request_review", payload("pull_request_review.submitted.empty"), "/code") == Skip(
        "the review does not start with `/code`")


@pytest.mark.parametrize("action", ["edited", "dismissed"])
def test_only_submitted_reviews_trigger(action):
    event = payload("pull_request_review.submitted") | {"action": action}
    assert parse_event("pull_request_review", event, "/code") == Skip(
        f"the review was {action}, and only submitted reviews trigger a run")


def test_a_bots_review_is_skipped():
    assert parse_event("pull_request_review", payload("pull_request_review.submitted.bot"), "/code") == Skip(
        "the review is by the bot `github-actions[bot]`, and bots cannot trigger a run")


def test_a_bots_review_comment_is_skipped():
    event = review_comment("/code go")
    event["comment"]["user"].update(login="coderabbitai[bot]", type="Bot")
    assert parse_event("pull_request_review_comment", event, "/code") == Skip(
        "the review comment is by the bot `coderabbitai[bot]`, and bots cannot trigger a run")


MARKER_SKIP = ("the {} carries codeagent's marker `<!-- codeagent:`: the action wrote it, "
               "and its own comments never trigger a run")


def test_a_comment_with_the_actions_marker_is_skipped_even_by_a_person():
    assert parse_event("issue_comment", payload("issue_comment.created.progress_marker"), "/code") == Skip(
        MARKER_SKIP.format("comment"))


@pytest.mark.parametrize("event_name, fixture, subject", [
    ("issue_comment", "issue_comment.created.pull_request", "comment"),
    ("pull_request_review_comment", "pull_request_review_comment.created", "review comment"),
    ("pull_request_review", "pull_request_review.submitted", "review"),
])
def test_the_marker_anywhere_in_a_code_request_skips_it(event_name, fixture, subject):
    event = payload(fixture)
    text = event["review" if event_name == "pull_request_review" else "comment"]
    text["body"] += "\n\n<!-- codeagent:reply -->"
    assert parse_event(event_name, event, "/code") == Skip(MARKER_SKIP.format(subject))


def test_the_marker_in_any_case_skips_a_request_as_the_workflows_contains_does():
    event = payload("issue_comment.created")
    event["comment"]["body"] = "/code go <!-- CodeAgent:progress run=1 -->"
    assert parse_event("issue_comment", event, "/code") == Skip(MARKER_SKIP.format("comment"))


REVIEW_COMMENT = ("pull_request_review_comment", "pull_request_review_comment.created")
REVIEW = ("pull_request_review", "pull_request_review.submitted")


@pytest.mark.parametrize("event, path, value, field", [
    (REVIEW_COMMENT, ("pull_request",), None, "pull_request.number"),
    (REVIEW_COMMENT, ("comment", "path"), None, "comment.path"),
    (REVIEW_COMMENT, ("comment", "diff_hunk"), 42, "comment.diff_hunk"),
    (REVIEW_COMMENT, ("repository", "default_branch"), None, "repository.default_branch"),
    (REVIEW_COMMENT, ("comment", "line"), "6", "comment.line"),
    (REVIEW_COMMENT, ("comment", "in_reply_to_id"), "1", "comment.in_reply_to_id"),
    (REVIEW, ("review", "body"), ["/code"], "review.body"),
    (REVIEW, ("review", "user"), None, "review.user.login"),
])
def test_a_malformed_pull_request_payload_is_an_event_error_naming_the_field(event, path, value, field):
    event_name, fixture = event
    data = copy.deepcopy(payload(fixture))
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    message = error_message(event_name, data)
    assert message.startswith(f"the `{event_name}` event payload has no ")
    assert f"`{field}`" in message and "GITHUB_EVENT_PATH" in message

