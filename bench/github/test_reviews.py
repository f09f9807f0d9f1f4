"""The GitHub emulator's pull requests beyond the basics: review comments and their threads,
reviews, forks, refs/pull/N/*, merged and deleted heads; shapes checked against githubkit's models."""

from __future__ import annotations

from pathlib import Path

import requests

from githubkit_schemas.latest import models

from bench.github.emulator import GitHubEmulator
from bench.github.spec.conformance import describe
from bench.github.test_emulator import (  # noqa: F401 (github: the fixture)
    BOT_TOKEN, REPO, auth_header, call, clone, commit, git, github, pygithub, session, validate,
)


WORD_COUNT = "def char_count(text):\n    return len(text)\n\n\ndef word_count(text):\n    return len(text.split())\n"


def open_pull(github: GitHubEmulator) -> int:
    """PR #8 from codeagent/issue-7, as an earlier run of the action left it: two commits on main."""
    github.prs.push_commit(REPO, "codeagent/issue-7", {}, "codeagent: received #7", "github-actions[bot]")
    github.prs.push_commit(REPO, "codeagent/issue-7", {"textstats/__init__.py": WORD_COUNT}, "Add word_count",
                       "github-actions[bot]")
    return github.prs.create_pull(REPO, "Add word_count", "Closes #7", "codeagent/issue-7")["number"]


def test_review_comments_replies_and_reactions_match_githubs_schema(github: GitHubEmulator) -> None:
    http, api = session(BOT_TOKEN), f"{github.api_url}/repos/{REPO}"
    number = open_pull(github)
    seeded = github.prs.add_review_comment(REPO, number, "octo-owner", "/code handle empty strings",
                                       path="textstats/__init__.py", line=6, author_association="OWNER")
    validate(models.PullRequestReviewComment, seeded)
    assert seeded["diff_hunk"].startswith("@@ -1,2 +1,6 @@") and seeded["diff_hunk"].endswith(
        "+    return len(text.split())")
    assert (seeded["line"], seeded["side"], seeded["position"], "in_reply_to_id" in seeded) == (6, "RIGHT", 6, False)
    [listed] = call(http, "GET", f"{api}/pulls/{number}/comments", list[models.PullRequestReviewComment])
    assert listed == call(http, "GET", f"{api}/pulls/comments/{seeded['id']}", models.PullRequestReviewComment)
    assert listed["commit_id"] == call(http, "GET", f"{api}/pulls/{number}", models.PullRequest)["head"]["sha"]

    replies = f"{api}/pulls/{number}/comments/{seeded['id']}/replies"
    reply = call(http, "POST", replies, models.PullRequestReviewComment, 201, json={"body": "On it"})
    assert (reply["in_reply_to_id"], reply["path"], reply["line"], reply["diff_hunk"]) == \
        (seeded["id"], seeded["path"], 6, seeded["diff_hunk"])
    assert reply["pull_request_review_id"] != seeded["pull_request_review_id"]
    assert reply["user"]["login"] == "github-actions[bot]"
    # Replies go to a thread's first comment; GitHub answers 404 for a reply to a reply.
    call(http, "POST", f"{api}/pulls/{number}/comments/{reply['id']}/replies", models.BasicError, 404,
         json={"body": "nested"})
    call(http, "POST", f"{api}/pulls/7/comments/{seeded['id']}/replies", models.BasicError, 404, json={"body": "x"})
    call(http, "POST", f"{api}/pulls/{number}/comments/1/replies", models.BasicError, 404, json={"body": "x"})

    reactions = f"{api}/pulls/comments/{seeded['id']}/reactions"
    call(http, "POST", reactions, models.Reaction, 201, json={"content": "eyes"})
    call(http, "POST", reactions, models.Reaction, 200, json={"content": "eyes"})
    assert [r["content"] for r in call(http, "GET", reactions, list[models.Reaction])] == ["eyes"]
    assert call(http, "GET", f"{api}/pulls/comments/{seeded['id']}", models.PullRequestReviewComment)[
        "reactions"]["eyes"] == 1
    call(http, "PATCH", f"{api}/pulls/comments/{reply['id']}", models.PullRequestReviewComment,
         json={"body": "Done: handled empty strings"})

    new = call(http, "POST", f"{api}/pulls/{number}/comments", models.PullRequestReviewComment, 201,
               json={"body": "Nit", "path": "textstats/__init__.py", "line": 5, "commit_id": listed["commit_id"]})
    assert new["diff_hunk"].endswith("+def word_count(text):")
    refusal = call(http, "POST", f"{api}/pulls/{number}/comments", models.BasicError, 422,
                   json={"body": "Nit", "path": "README.md", "line": 1, "commit_id": listed["commit_id"]})
    assert "must be part of the diff" in refusal["errors"][0]
    refusal = call(http, "POST", f"{api}/pulls/{number}/comments", models.BasicError, 422,
                   json={"body": "Nit", "path": "textstats/__init__.py", "line": 5})
    assert refusal["message"] == 'Invalid request.\n\n"commit_id" wasn\'t supplied.'
    assert [v["problems"] for v in github.spec_violations] == [['request /: "commit_id" is a required property']]
    github.spec_violations.clear()  # sent on purpose
    call(http, "DELETE", f"{api}/pulls/comments/{new['id']}", None, 204)
    assert call(http, "GET", f"{api}/pulls/{number}", models.PullRequest)["review_comments"] == 2

    assert github.prs.review_comments(REPO) == [
        {"id": seeded["id"], "pull_number": number, "author": "octo-owner", "body": "/code handle empty strings",
         "path": "textstats/__init__.py", "line": 6, "in_reply_to": None,
         "review_id": seeded["pull_request_review_id"]},
        {"id": reply["id"], "pull_number": number, "author": "github-actions[bot]",
         "body": "Done: handled empty strings", "path": "textstats/__init__.py", "line": 6,
         "in_reply_to": seeded["id"], "review_id": reply["pull_request_review_id"]}]
    assert github.reactions(REPO) == [{"comment_id": seeded["id"], "issue_number": number, "content": "eyes",
                                       "author": "github-actions[bot]", "review_comment": True}]
    assert github.unknown_requests == []


def test_pygithub_replies_in_a_review_thread(github: GitHubEmulator) -> None:
    number = open_pull(github)
    seeded = github.prs.add_review_comment(REPO, number, "octo-owner", "/code go", path="textstats/__init__.py", line=6)
    pull = pygithub(github).get_repo(REPO).get_pull(number)
    [comment] = pull.get_review_comments()
    assert (comment.id, comment.path, comment.line, comment.diff_hunk) == \
        (seeded["id"], "textstats/__init__.py", 6, seeded["diff_hunk"])
    comment.create_reaction("eyes")
    reply = pull.create_review_comment_reply(comment.id, "Working on it")
    reply.edit("Done")
    assert pull.get_review_comment(reply.id).in_reply_to_id == comment.id
    assert [(c["author"], c["body"]) for c in github.prs.review_comments(REPO)] == [
        ("octo-owner", "/code go"), ("github-actions[bot]", "Done")]
    assert github.unknown_requests == []


def test_reviews_and_their_event_payloads_match_githubs_schema(github: GitHubEmulator) -> None:
    http, api = session(BOT_TOKEN), f"{github.api_url}/repos/{REPO}"
    number = open_pull(github)
    review = github.prs.add_review(REPO, number, "octo-owner", "/code add a docstring", "changes_requested",
                               comments=[{"body": "here", "path": "textstats/__init__.py", "line": 5}],
                               author_association="OWNER")
    payload = {"action": "submitted", "review": review, "pull_request": github.prs.pull_json(REPO, number, full=False),
               "repository": github.repo_json(REPO), "sender": github.user_json("octo-owner")}
    validate(models.WebhookPullRequestReviewSubmitted, payload)
    assert (review["state"], review["body"], review["author_association"]) == \
        ("changes_requested", "/code add a docstring", "OWNER")
    [listed] = call(http, "GET", f"{api}/pulls/{number}/reviews", list[models.PullRequestReview])
    assert (listed["id"], listed["state"], listed["user"]["login"]) == (review["id"], "CHANGES_REQUESTED", "octo-owner")
    assert call(http, "GET", f"{api}/pulls/{number}/reviews/{review['id']}", models.PullRequestReview) == listed
    [inline] = call(http, "GET", f"{api}/pulls/{number}/reviews/{review['id']}/comments", list[models.ReviewComment])
    assert (inline["path"], inline["line"], inline["pull_request_review_id"]) == \
        ("textstats/__init__.py", 5, review["id"])
    call(http, "GET", f"{api}/pulls/{number}/reviews/1", models.BasicError, 404)

    comment = github.prs.add_review_comment(REPO, number, "octo-owner", "/code more", in_reply_to=inline["id"],
                                        author_association="OWNER")
    payload = {"action": "created", "comment": comment, "pull_request": github.prs.pull_json(REPO, number, full=False),
               "repository": github.repo_json(REPO), "sender": github.user_json("octo-owner")}
    validate(models.WebhookPullRequestReviewCommentCreated, payload)
    assert (comment["in_reply_to_id"], comment["diff_hunk"]) == (inline["id"], inline["diff_hunk"])
    assert [r["state"] for r in github.prs.reviews(REPO)] == ["CHANGES_REQUESTED", "COMMENTED"]


def test_a_pull_request_from_a_fork(github: GitHubEmulator, tmp_path: Path) -> None:
    http, api = session(BOT_TOKEN), f"{github.api_url}/repos/{REPO}"
    github.prs.create_fork(REPO, "forkful/textstats")
    sha = github.prs.push_commit("forkful/textstats", "sentence-count", {"textstats/s.py": "X = 1\n"}, "Add s",
                             "forkful")
    number = github.prs.create_pull(REPO, "Add s", "", "sentence-count", author="forkful",
                                head_repo="forkful/textstats")["number"]
    pull = call(http, "GET", f"{api}/pulls/{number}", models.PullRequest)
    head = pull["head"]
    assert (head["ref"], head["sha"], head["label"], head["repo"]["full_name"], head["repo"]["fork"]) == \
        ("sentence-count", sha, "forkful:sentence-count", "forkful/textstats", True)
    assert (pull["base"]["repo"]["full_name"], pull["base"]["repo"]["fork"], pull["changed_files"]) == \
        (REPO, False, 1)
    fork = call(http, "GET", f"{github.api_url}/repos/forkful/textstats", models.FullRepository)
    assert (fork["fork"], fork["parent"]["full_name"], fork["source"]["full_name"]) == (True, REPO, REPO)
    listed = call(http, "GET", f"{api}/pulls", list[models.PullRequestSimple],
                  params={"head": "forkful:sentence-count"})
    assert [p["number"] for p in listed] == [number]
    assert call(http, "GET", f"{api}/pulls", list, params={"head": "octo-org:sentence-count"}) == []
    comment = github.prs.add_review_comment(REPO, number, "octo-owner", "/code", path="textstats/s.py", line=1)
    assert comment["commit_id"] == sha

    # The workflow token reads the fork (it is public) but may not push to it.
    checkout = tmp_path / "fork"
    git("-c", auth_header(BOT_TOKEN), "clone", "--quiet", "--branch=sentence-count",
        github.clone_url("forkful/textstats"), str(checkout))
    commit(checkout, {"b.txt": "b\n"}, "B")
    refused = git("-c", auth_header(BOT_TOKEN), "push", "origin", "sentence-count", cwd=checkout, check=False)
    assert refused.returncode != 0 and "denied to github-actions[bot]" in refused.stderr
    # Its commits are in the base repository as refs/pull/N/head, as on GitHub.
    fetched = clone(github, tmp_path / "base")
    git("-c", auth_header(BOT_TOKEN), "fetch", "--quiet", "origin", f"refs/pull/{number}/head", cwd=fetched)
    assert git("rev-parse", "FETCH_HEAD", cwd=fetched).stdout.strip() == sha
    assert github.pulls(REPO)[0]["head_repo"] == "forkful/textstats"


def test_pull_request_head_follows_pushes_merge_ref_and_closing(github: GitHubEmulator, tmp_path: Path) -> None:
    http, api = session(BOT_TOKEN), f"{github.api_url}/repos/{REPO}"
    number = open_pull(github)
    pushed = push_branch_again(github, tmp_path, "codeagent/issue-7", {"textstats/more.py": "Y = 2\n"})
    pull = call(http, "GET", f"{api}/pulls/{number}", models.PullRequest)
    assert (pull["head"]["sha"], pull["head"]["ref"], pull["commits"], pull["changed_files"]) == \
        (pushed, "codeagent/issue-7", 3, 2)
    merge = github.prs.merge_ref(REPO, number)
    checkout = clone(github, tmp_path / "merge")
    git("-c", auth_header(BOT_TOKEN), "fetch", "--quiet", "--depth=1", "origin",
        f"+{merge}:refs/remotes/pull/{number}/merge", cwd=checkout)
    raw = git("cat-file", "-p", f"refs/remotes/pull/{number}/merge", cwd=checkout).stdout  # shallow: no ^2
    assert f"parent {pushed}" in raw.splitlines()

    github.prs.close_pull(REPO, number, merged=True)
    merged = call(http, "GET", f"{api}/pulls/{number}", models.PullRequest)
    assert (merged["state"], merged["merged"], merged["merged_at"] is not None) == ("closed", True, True)
    assert github.branches(REPO)[0]["name"] == "codeagent/issue-7"
    reopen = call(http, "PATCH", f"{api}/pulls/{number}", models.ValidationError, 422, json={"state": "open"})
    assert "merged" in reopen["errors"][0]["message"]

    github.prs.push_commit(REPO, "gone", {"g.txt": "g\n"}, "G", "octo-owner")
    gone = github.prs.create_pull(REPO, "Gone", "", "gone", author="octo-owner")["number"]
    github.prs.close_pull(REPO, gone)
    github.prs.delete_branch(REPO, "gone")
    call(http, "PATCH", f"{api}/pulls/{gone}", models.ValidationError, 422, json={"state": "open"})
    assert [p["state"] for p in github.pulls(REPO)] == ["closed", "closed"]


def push_branch_again(github: GitHubEmulator, tmp_path: Path, branch: str, files: dict[str, str]) -> str:
    """Push one more commit on ``branch`` over git, as the action does."""
    checkout = clone(github, tmp_path / "again", BOT_TOKEN, f"--branch={branch}")
    commit(checkout, files, "More")
    git("-c", auth_header(BOT_TOKEN), "push", "--quiet", "origin", branch, cwd=checkout)
    return git("rev-parse", "HEAD", cwd=checkout).stdout.strip()


def test_on_a_locked_issue_only_people_with_write_access_can_comment(tmp_path):
    files = tmp_path / "files"
    files.mkdir()
    (files / "README.md").write_text("# x\n")
    with GitHubEmulator(tmp_path / "gh") as emulator:
        emulator.add_token("ghs_bot", "github-actions[bot]", type="Bot")
        emulator.add_token("ghp_reader", "reader")
        emulator.create_repo("octo-org/locked", files)
        emulator.create_issue("octo-org/locked", "Title", "Body", "octo-org", number=1, locked=True)
        url = f"{emulator.api_url}/repos/octo-org/locked/issues/1/comments"
        refused = requests.post(url, json={"body": "me too"}, headers={"Authorization": "token ghp_reader"})
        allowed = requests.post(url, json={"body": "on it"}, headers={"Authorization": "token ghs_bot"})
        assert not emulator.spec_violations, describe(emulator.spec_violations)
    assert refused.status_code == 403 and refused.json()["message"] == "Unable to create comment because issue is locked."
    assert allowed.status_code == 201


def test_a_reviews_comments_carry_its_time_even_when_a_second_passes_while_it_is_written(github, monkeypatch):
    """GitHub writes a review and its inline comments in one submission. The action leaves out comments
    edited after the request (the review's time); stamped apart, one would look edited (a flake seen in
    review-submitted)."""
    import bench.github.state as state

    number = open_pull(github)
    ticks = iter(f"2026-11-30T20:00:{second:02d}Z" for second in range(60))
    monkeypatch.setattr(state, "now_iso", lambda: next(ticks))
    review = github.prs.add_review(REPO, number, "octo-owner", "/code add a docstring",
                                   comments=[{"body": "No docstring.", "path": "textstats/__init__.py", "line": 6}])
    [comment] = [c for c in github.state.review_comments if c.review_id == review["id"]]
    assert comment.created_at == comment.updated_at == review["submitted_at"]
