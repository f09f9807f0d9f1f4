"""The check of every emulator exchange against GitHub's own descriptions of its API: it finds what
is wrong (and nothing on GitHub's own examples), the emulator's routes are GitHub's operations, and
the allowlist holds only what the emulator needs."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest
import requests

from bench.github.emulator import GitHubEmulator
from bench.github.routes import ROUTES
from bench.github.spec import conformance
from bench.github.spec.conformance import SpecMissing, describe, load_allowlist, rest_description
from bench.github.test_emulator import BOT_TOKEN, REPO, github, push_branch, session  # noqa: F401 (github)


@pytest.fixture(scope="module")
def description():
    return rest_description()


def example(description, name: str):
    return copy.deepcopy(description.document["components"]["examples"][name]["value"])


@pytest.mark.parametrize("method, path, template", [
    ("GET", "/repos/o/r/issues/comments", "/repos/{owner}/{repo}/issues/comments"),
    ("GET", "/repos/o/r/issues/7/comments", "/repos/{owner}/{repo}/issues/{issue_number}/comments"),
    ("PATCH", "/repos/o/r/issues/comments/5", "/repos/{owner}/{repo}/issues/comments/{comment_id}"),
    ("GET", "/repos/o/r/contents/a/b/c.py", "/repos/{owner}/{repo}/contents/{path}"),
    ("GET", "/repos/o/r/branches/codeagent/issue-7", "/repos/{owner}/{repo}/branches/{branch}"),
    ("GET", "/repos/o/r/branches/main/protection", "/repos/{owner}/{repo}/branches/{branch}/protection"),
    ("DELETE", "/repos/o/r/git/refs/heads/codeagent/issue-7", "/repos/{owner}/{repo}/git/refs/{ref}"),
    ("POST", "/repos/o/r/actions/workflows/ci.yml/dispatches",
     "/repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches"),
])
def test_operations_are_found_by_their_template(description, method, path, template):
    assert description.operation(method, path).template == template


def test_githubs_own_examples_pass(description):
    assert description.check("GET", "/repos/o/r/issues/1", "", None, 200, example(description, "issue")) == []
    assert description.check("POST", "/repos/o/r/issues/1/comments", "", {"body": "x"}, 201,
                             example(description, "issue-comment")) == []


def test_what_is_wrong_with_an_answer_is_found(description):
    issue = example(description, "issue")
    del issue["number"]
    issue.update(state_reason="merged", created_at="yesterday", title=None, locked="no")
    found = " | ".join(map(str, description.check("GET", "/repos/o/r/issues/1", "", None, 200, issue)))
    for text in ('"number" is a required property', '"merged" is not one of', '"yesterday" is not a "date-time"',
                 'null is not of type "string"', '"no" is not of type "boolean"'):
        assert text in found


def test_nullable_enums_take_null_and_overlapping_one_of_is_any_of(description):
    """issue.state_reason: nullable, its enum without null, and GitHub sends null; validation-error's
    errors[].value: oneOf three nullable types, which null matches all at once."""
    issue = example(description, "issue")
    issue["state_reason"] = None
    assert description.check("GET", "/repos/o/r/issues/1", "", None, 200, issue) == []
    invalid = {"message": "Validation Failed", "documentation_url": "x",
               "errors": [{"resource": "Reaction", "field": "content", "code": "invalid", "value": None}]}
    assert description.check("POST", "/repos/o/r/issues/comments/1/reactions", "", {"content": "eyes"}, 422,
                             invalid) == []


def test_what_is_wrong_with_a_request_its_query_or_its_status_is_found(description):
    pull = example(description, "pull-request")
    found = description.check("POST", "/repos/o/r/pulls", "", {"title": "t", "base": "main", "draft": "true"},
                              201, pull, check_response=False)
    assert sorted(map(str, found)) == ['request /: "head" is a required property',
                                       'request /draft: "true" is not of type "boolean"']
    assert [str(p) for p in description.check("POST", "/repos/o/r/pulls", "", None, 201, pull, sent_body=False,
                                              check_response=False)] == ["request: a body is required, none was sent"]
    assert "is not one of" in str(description.check("GET", "/repos/o/r/pulls", "state=merged", None, 200, [])[0])
    assert "not documented" in str(description.check("GET", "/repos/o/r/pulls", "owner=x", None, 200, [])[0])
    assert description.check("GET", "/repos/o/r/pulls", "state=all&head=o:b&per_page=100", None, 200, []) == []
    assert "409 is not a documented response of pulls/create" in str(
        description.check("POST", "/repos/o/r/pulls", "", {"head": "a", "base": "b"}, 409, {})[0])
    assert description.check("GET", "/repos/o/r", "", None, 401, {"message": "Bad credentials"}) == []
    assert "no operation" in str(description.check("GET", "/nowhere/at/all", "", None, 404, {})[0])


def sample_path(pattern: str) -> str:
    """A concrete path for a route's regex: each named group replaced by a sample value."""
    samples = {"owner": "octo-org", "name": "textstats", "login": "octocat", "number": "7", "id": "42",
               "review": "9", "branch": "codeagent/issue-7", "workflow_id": "ci.yml"}
    return re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: samples[m[1]], pattern.strip("^$")).replace("\\", "")


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r.method} {r.pattern.pattern}")
def test_every_route_is_a_github_operation_with_its_documentation(description, route):
    operation = description.operation(route.method, sample_path(route.pattern.pattern))
    assert operation is not None
    assert operation.docs_url.removeprefix("https://docs.github.com/") == \
        route.doc.removeprefix("https://docs.github.com/")


def test_an_invalid_graphql_request_is_refused_as_github_does_and_recorded(github: GitHubEmulator):
    http = session(BOT_TOKEN)
    answer = http.post(github.graphql_url, json={
        "query": "mutation { markPullRequestReadyForReview(input: $input) { pullRequest { isDraft } } }",
        "variables": {"input": {"pullRequestId": "x"}}})
    assert answer.status_code == 200
    assert answer.json() == {"errors": [{"message": "Variable '$input' is not defined.",
                                         "locations": [{"line": 1, "column": 49}, {"line": 1, "column": 1}]}]}
    wrong_type = http.post(github.graphql_url, json={
        "query": "mutation R($input: MarkPullRequestReadyForReviewInput!) {"
                 " markPullRequestReadyForReview(input: $input) { pullRequest { isDraft } } }",
        "variables": {"input": {"pullRequest": "x"}}}).json()
    assert "pullRequestId" in wrong_type["errors"][0]["message"]
    assert [v["operation"] for v in github.spec_violations] == ["graphql", "graphql"]
    assert "Variable '$input' is not defined." in describe(github.spec_violations)
    assert github.unknown_requests == []
    github.spec_violations.clear()  # sent on purpose


def test_a_faults_answer_is_the_scenarios_but_the_request_is_still_checked(github: GitHubEmulator):
    http, url = session(BOT_TOKEN), f"{github.api_url}/repos/{REPO}/issues/7/comments"
    github.faults.add("POST", r"/issues/7/comments$", status=409, times=2)
    assert http.post(url, json={"body": "hello"}).status_code == 409  # not a documented status: the fault's choice
    assert github.spec_violations == []
    assert http.post(url, json={"text": "hello"}).status_code == 409
    assert describe(github.spec_violations) == (f"POST /repos/{REPO}/issues/7/comments -> 409 (issues/create-comment):"
                                                ' request /: "body" is a required property')
    github.spec_violations.clear()  # sent on purpose


def test_without_the_descriptions_the_emulator_says_how_to_install_them(tmp_path, monkeypatch):
    monkeypatch.setenv("CODEAGENT_SPEC_CACHE", str(tmp_path / "cache"))
    with pytest.raises(SpecMissing, match="run scripts/bootstrap"):
        GitHubEmulator(tmp_path / "github").start()


def test_every_allowlist_entry_has_a_reason_and_a_bad_one_is_refused(tmp_path: Path):
    assert all(entry.reason.strip() for entry in load_allowlist())
    bad = tmp_path / "allowlist.yaml"
    bad.write_text("- {operation: pulls/create, problem: '*'}\n")
    with pytest.raises(ValueError, match="reason"):
        load_allowlist(bad)


def test_the_descriptions_are_loaded_once_per_process():
    assert rest_description() is rest_description()
    assert conformance.graphql_schema() is conformance.graphql_schema()


def test_every_allowlist_entry_is_needed_by_what_github_does(tmp_path: Path):
    """Each entry excuses a real answer of GitHub that the emulator gives; none is there for nothing."""
    files = tmp_path / "files"
    (files / ".github" / "workflows").mkdir(parents=True)
    (files / ".github" / "workflows" / "ci.yml").write_text("on: [push, workflow_dispatch]\n")
    with GitHubEmulator(tmp_path / "github") as github:
        github.add_token(BOT_TOKEN, "github-actions[bot]", type="Bot", permissions={"pull-requests": "write"})
        github.add_token("ghs_all", "github-actions[bot]", type="Bot", permissions={"contents": "write",
                                                                                     "actions": "write"})
        github.add_token("ghp_reader", "reader")
        github.create_repo(REPO, files)
        http, api = session("ghs_all"), f"{github.api_url}/repos/{REPO}"
        assert http.delete(f"{api}/git/refs/heads/no-such-branch").status_code == 422
        push_branch(github, tmp_path, "feature", {"a.txt": "a\n"})
        number = http.post(f"{api}/pulls", json={"title": "T", "head": "feature", "base": "main"}).json()["number"]
        head = http.get(f"{api}/pulls/{number}").json()["head"]["sha"]
        outside = http.post(f"{api}/pulls/{number}/comments",
                            json={"body": "x", "path": "README.md", "line": 1, "commit_id": head})
        assert outside.status_code == 422
        assert session("ghp_reader").get(f"{api}/collaborators/reader/permission").status_code == 403
        dispatches = f"{api}/actions/workflows/ci.yml/dispatches"
        assert http.post(dispatches, json={"ref": "gone"}).status_code == 422
        assert session(BOT_TOKEN).post(dispatches, json={"ref": "main"}).status_code == 403
        assert github.spec_violations == []
        assert github.spec.used == set(load_allowlist())
