"""GitHub's rules that its API description states only in prose (or not at all), as the emulator
keeps them: drafts and the account's plan, custom repository roles, who may read a collaborator's
permission, and running a workflow by hand (workflow_dispatch)."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
from github import Auth, Github, GithubException
from githubkit_schemas.latest import models

from bench.github.emulator import GitHubEmulator
from bench.github.spec.conformance import describe
from bench.github.test_emulator import call, git, push_branch, session

BOT, OWNER, READER, RELEASER = "ghs_workflowtoken", "ghp_ownertoken", "ghp_readertoken", "ghp_releaser"
CI = """name: CI
on:
  push:
  workflow_dispatch:
    inputs:
      level:
        description: how thorough
        required: true
        default: quick
      target:
        required: false
"""
LINT = "on: [push, workflow_dispatch]\njobs: {}\n"
NIGHTLY = "name: Nightly\non:\n  schedule:\n    - cron: '0 3 * * *'\n"


def repo_files(tmp_path: Path, workflows: dict[str, str] | None = None) -> Path:
    files = tmp_path / "files"
    (files / ".github" / "workflows").mkdir(parents=True)
    (files / "README.md").write_text("# textstats\n")
    for name, text in (workflows or {}).items():
        (files / ".github" / "workflows" / name).write_text(text)
    return files


@pytest.fixture
def emulator(tmp_path: Path):
    with GitHubEmulator(tmp_path / "github") as github:
        github.add_token(BOT, "github-actions[bot]", type="Bot",
                         permissions={"contents": "write", "pull-requests": "write", "actions": "write"})
        github.add_token(OWNER, "octo-org")
        github.add_token(READER, "reader")
        github.add_token(RELEASER, "releaser")
        yield github
        assert github.server_errors == []
        assert not github.spec_violations, describe(github.spec_violations)


def pull_request(github: GitHubEmulator, repo: str, draft: bool) -> requests.Response:
    return session(BOT).post(f"{github.api_url}/repos/{repo}/pulls",
                             json={"title": "T", "head": "feature", "base": "main", "draft": draft})


def with_branch(github: GitHubEmulator, repo: str, tmp_path: Path) -> None:
    clone = tmp_path / f"clone-{repo.replace('/', '-')}"
    git("-c", f"http.extraHeader=Authorization: token {BOT}", "clone", "--quiet", github.clone_url(repo), str(clone))
    git("switch", "--quiet", "-c", "feature", cwd=clone)
    (clone / "a.txt").write_text("a\n")
    git("add", "a.txt", cwd=clone)
    git("commit", "--quiet", "-m", "A", cwd=clone)
    git("-c", f"http.extraHeader=Authorization: token {BOT}", "push", "--quiet", "origin", "feature", cwd=clone)


@pytest.mark.parametrize("private, plan, allowed", [
    (True, "free", False), (True, "pro", False), (True, "team", True), (True, "enterprise", True),
    (False, "free", True), (False, "pro", True),
])
def test_drafts_need_a_public_repository_or_a_team_or_enterprise_plan(emulator, tmp_path, private, plan, allowed):
    repo = f"octo-org/{plan}-{'private' if private else 'public'}"
    emulator.create_repo(repo, repo_files(tmp_path), private=private, plan=plan)
    with_branch(emulator, repo, tmp_path)
    draft = pull_request(emulator, repo, draft=True)
    if allowed:
        assert draft.status_code == 201 and draft.json()["draft"] is True
        return
    assert draft.status_code == 422
    assert draft.json() == {"message": "Draft pull requests are not supported in this repository.",
                            "documentation_url": "https://docs.github.com/rest/pulls/pulls#create-a-pull-request",
                            "status": "422"}
    ready = pull_request(emulator, repo, draft=False)
    assert ready.status_code == 201 and ready.json()["draft"] is False
    pull = Github(auth=Auth.Token(BOT), base_url=emulator.api_url, retry=None).get_repo(repo).get_pull(
        ready.json()["number"])
    with pytest.raises(GithubException, match="Draft pull requests are not supported"):
        pull.convert_to_draft()
    assert emulator.pulls(repo)[0]["draft"] is False


def test_a_custom_role_reports_its_base_as_permission_and_its_own_name_as_role_name(emulator, tmp_path):
    repo, api = "octo-org/textstats", f"{emulator.api_url}/repos/octo-org/textstats"
    emulator.create_repo(repo, repo_files(tmp_path))
    emulator.add_custom_role("octo-org", "release-engineer", "write")
    emulator.add_custom_role("octo-org", "auditor", "triage")
    for login, role in [("releaser", "release-engineer"), ("checker", "auditor"), ("keeper", "maintain"),
                        ("sorter", "triage")]:
        emulator.set_permission(repo, login, role)
    expected = {"releaser": ("write", "release-engineer", True, True), "checker": ("read", "auditor", False, True),
                "keeper": ("write", "maintain", True, True), "sorter": ("read", "triage", False, True),
                "octo-org": ("admin", "admin", True, True)}
    for login, (permission, name, push, triage) in expected.items():
        answer = call(session(BOT), "GET", f"{api}/collaborators/{login}/permission",
                      models.RepositoryCollaboratorPermission)
        assert (answer["permission"], answer["role_name"], answer["user"]["role_name"]) == (permission, name, name)
        assert (answer["user"]["permissions"]["push"], answer["user"]["permissions"]["triage"]) == (push, triage)
    gh = Github(auth=Auth.Token(BOT), base_url=emulator.api_url, retry=None).get_repo(repo)
    assert gh.get_collaborator_permission("releaser") == "write"
    assert gh.get_collaborator_role_name("releaser") == "release-engineer"
    with pytest.raises(ValueError, match="custom role"):
        emulator.set_permission(repo, "someone", "deployer")


def test_only_people_with_push_access_may_read_a_collaborators_permission(emulator, tmp_path):
    repo, api = "octo-org/textstats", f"{emulator.api_url}/repos/octo-org/textstats"
    emulator.create_repo(repo, repo_files(tmp_path))
    emulator.add_custom_role("octo-org", "release-engineer", "write")
    emulator.set_permission(repo, "releaser", "release-engineer")
    refused = session(READER).get(f"{api}/collaborators/octo-org/permission")
    assert refused.status_code == 403
    assert refused.json()["message"] == "Must have push access to view collaborator permission."
    assert session(RELEASER).get(f"{api}/collaborators/reader/permission").json()["permission"] == "read"
    assert session(OWNER).get(f"{api}/collaborators/nobody-at-all/permission").status_code == 404


def workflows_repo(emulator: GitHubEmulator, tmp_path: Path) -> str:
    repo = "octo-org/textstats"
    emulator.create_repo(repo, repo_files(tmp_path, {"ci.yml": CI, "lint.yaml": LINT, "nightly.yml": NIGHTLY,
                                                      "notes.txt": "not a workflow"}))
    return repo


def test_workflows_are_the_default_branchs_workflow_files(emulator, tmp_path):
    repo = workflows_repo(emulator, tmp_path)
    api = f"{emulator.api_url}/repos/{repo}/actions/workflows"
    listed = call(session(BOT), "GET", api, models.ReposOwnerRepoActionsWorkflowsGetResponse200)
    assert listed["total_count"] == 3
    assert [(w["name"], w["path"]) for w in listed["workflows"]] == [
        ("CI", ".github/workflows/ci.yml"), (".github/workflows/lint.yaml", ".github/workflows/lint.yaml"),
        ("Nightly", ".github/workflows/nightly.yml")]
    ci = listed["workflows"][0]
    assert call(session(BOT), "GET", f"{api}/ci.yml", models.Workflow) == ci
    assert call(session(BOT), "GET", f"{api}/{ci['id']}", models.Workflow) == ci
    assert ci["url"] == f"{api}/{ci['id']}"
    assert ci["html_url"] == f"{emulator.server_url}/{repo}/blob/main/.github/workflows/ci.yml"
    assert session(BOT).get(f"{api}/missing.yml").status_code == 404
    gh = Github(auth=Auth.Token(BOT), base_url=emulator.api_url, retry=None).get_repo(repo)
    assert [w.name for w in gh.get_workflows()] == ["CI", ".github/workflows/lint.yaml", "Nightly"]


def test_a_dispatch_runs_the_workflow_on_a_ref_or_is_refused_as_github_refuses_it(emulator, tmp_path):
    repo = workflows_repo(emulator, tmp_path)
    with_branch(emulator, repo, tmp_path)
    api, http = f"{emulator.api_url}/repos/{repo}/actions/workflows", session(BOT)
    assert http.post(f"{api}/ci.yml/dispatches", json={"ref": "feature"}).status_code == 204
    assert http.post(f"{api}/lint.yaml/dispatches", json={"ref": "refs/heads/main"}).status_code == 204
    details = http.post(f"{api}/ci.yml/dispatches", json={"ref": "main", "inputs": {"level": "full", "target": "x"},
                                                          "return_run_details": True})
    assert details.status_code == 200 and details.json()["html_url"].startswith(f"{emulator.server_url}/{repo}/")
    refusals = {
        ("nightly.yml", "main", None): "Workflow does not have 'workflow_dispatch' trigger",
        ("ci.yml", "no-such-branch", None): "No ref found for: no-such-branch",
        ("ci.yml", "main", ("speed", "fast")): 'Unexpected inputs provided: ["speed"]',
    }
    for (workflow, ref, given), message in refusals.items():
        body = {"ref": ref, **({"inputs": dict([given])} if given else {})}
        refused = http.post(f"{api}/{workflow}/dispatches", json=body)
        assert (refused.status_code, refused.json()["message"]) == (422, message)
    assert http.post(f"{api}/missing.yml/dispatches", json={"ref": "main"}).status_code == 404
    assert emulator.dispatches(repo) == [
        {"workflow": ".github/workflows/ci.yml", "ref": "feature", "inputs": {}, "actor": "github-actions[bot]"},
        {"workflow": ".github/workflows/lint.yaml", "ref": "refs/heads/main", "inputs": {},
         "actor": "github-actions[bot]"},
        {"workflow": ".github/workflows/ci.yml", "ref": "main", "inputs": {"level": "full", "target": "x"},
         "actor": "github-actions[bot]"}]


def test_a_required_input_without_a_default_must_be_given(emulator, tmp_path):
    repo = "octo-org/textstats"
    emulator.create_repo(repo, repo_files(tmp_path, {"release.yml": (
        "on:\n  workflow_dispatch:\n    inputs:\n      version:\n        required: true\n")}))
    url = f"{emulator.api_url}/repos/{repo}/actions/workflows/release.yml/dispatches"
    refused = session(BOT).post(url, json={"ref": "main"})
    assert (refused.status_code, refused.json()["message"]) == (422, "Required input 'version' not provided")
    assert session(BOT).post(url, json={"ref": "main", "inputs": {"version": "1.0"}}).status_code == 204


def test_the_workflow_token_needs_actions_permissions_a_person_their_role(emulator, tmp_path):
    repo = workflows_repo(emulator, tmp_path)
    emulator.add_token("ghs_plain", "github-actions[bot]", type="Bot",
                       permissions={"contents": "write", "issues": "write", "pull-requests": "write"})
    emulator.add_token("ghs_reading", "github-actions[bot]", type="Bot", permissions={"actions": "read"})
    api = f"{emulator.api_url}/repos/{repo}/actions/workflows"
    for token, listing, dispatch in [("ghs_plain", 403, 403), ("ghs_reading", 200, 403), (OWNER, 200, 204),
                                     (READER, 200, 403)]:
        assert session(token).get(api).status_code == listing, token
        answer = session(token).post(f"{api}/ci.yml/dispatches", json={"ref": "main"})
        assert answer.status_code == dispatch, token
        if dispatch == 403:
            assert answer.json()["message"] in ("Resource not accessible by integration",
                                                "Resource not accessible by personal access token")
    with pytest.raises(ValueError, match="permission levels"):
        emulator.add_token("ghs_x", "github-actions[bot]", type="Bot", permissions={"actions": "admin"})


def test_pygithub_dispatches_as_the_action_does(emulator, tmp_path):
    repo = workflows_repo(emulator, tmp_path)
    with_branch(emulator, repo, tmp_path)
    workflow = Github(auth=Auth.Token(BOT), base_url=emulator.api_url, retry=None).get_repo(repo).get_workflow(
        "lint.yaml")
    assert workflow.create_dispatch("feature", throw=True) is True
    assert [(d["workflow"], d["ref"]) for d in emulator.dispatches(repo)] == [(".github/workflows/lint.yaml",
                                                                              "feature")]


def test_a_pull_requests_files_are_listed_as_github_lists_them(emulator, tmp_path):
    repo = "octo-org/textstats"
    files = repo_files(tmp_path)
    (files / "old_name.py").write_text("".join(f"line {n}\n" for n in range(20)))
    (files / "gone.txt").write_text("bye\n")
    (files / "keep.txt").write_text("one\ntwo\n")
    emulator.create_repo(repo, files)
    clone = tmp_path / "clone"
    git("-c", f"http.extraHeader=Authorization: token {BOT}", "clone", "--quiet", emulator.clone_url(repo), str(clone))
    git("switch", "--quiet", "-c", "feature", cwd=clone)
    git("mv", "old_name.py", "new_name.py", cwd=clone)
    git("rm", "--quiet", "gone.txt", cwd=clone)
    (clone / "keep.txt").write_text("one\n2\n")
    (clone / "added.txt").write_text("new\n")
    (clone / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00binary")
    git("add", "--all", cwd=clone)
    git("commit", "--quiet", "-m", "Change files", cwd=clone)
    git("-c", f"http.extraHeader=Authorization: token {BOT}", "push", "--quiet", "origin", "feature", cwd=clone)
    number = pull_request(emulator, repo, draft=False).json()["number"]
    listed = call(session(BOT), "GET", f"{emulator.api_url}/repos/{repo}/pulls/{number}/files",
                  list[models.DiffEntry])
    by_name = {entry["filename"]: entry for entry in listed}
    assert {name: entry["status"] for name, entry in by_name.items()} == {
        "added.txt": "added", "gone.txt": "removed", "keep.txt": "modified", "logo.png": "added",
        "new_name.py": "renamed"}
    assert by_name["new_name.py"]["previous_filename"] == "old_name.py"
    assert by_name["keep.txt"]["patch"] == "@@ -1,2 +1,2 @@\n one\n-two\n+2"
    assert (by_name["keep.txt"]["additions"], by_name["keep.txt"]["deletions"], by_name["keep.txt"]["changes"]) \
        == (1, 1, 2)
    assert "patch" not in by_name["logo.png"]
    assert by_name["gone.txt"]["sha"] == git("rev-parse", "main:gone.txt", cwd=clone).stdout.strip()
    assert by_name["added.txt"]["sha"] == git("rev-parse", "HEAD:added.txt", cwd=clone).stdout.strip()
    gh = Github(auth=Auth.Token(BOT), base_url=emulator.api_url, retry=None).get_repo(repo)
    assert sorted(f.filename for f in gh.get_pull(number).get_files()) == sorted(by_name)


def test_a_pull_request_of_many_files_lists_3000_of_them_a_page_at_a_time_in_time(emulator, tmp_path):
    """As GitHub documents: at most 3000 files. Each page is made when asked (one `git diff` per file
    of every page took minutes for 30,000 files, and the action's requests timed out)."""
    import time
    repo = "octo-org/many"
    emulator.create_repo(repo, repo_files(tmp_path))
    clone = tmp_path / "clone"
    git("-c", f"http.extraHeader=Authorization: token {BOT}", "clone", "--quiet", emulator.clone_url(repo), str(clone))
    git("switch", "--quiet", "-c", "feature", cwd=clone)
    (clone / "many").mkdir()
    for number in range(3100):
        (clone / "many" / str(number)).write_text(f"{number}\n")
    git("add", "--all", cwd=clone)
    git("commit", "--quiet", "-m", "Many files", cwd=clone)
    git("-c", f"http.extraHeader=Authorization: token {BOT}", "push", "--quiet", "origin", "feature", cwd=clone)
    number = pull_request(emulator, repo, draft=False).json()["number"]

    started = time.monotonic()
    gh = Github(auth=Auth.Token(BOT), base_url=emulator.api_url, retry=None).get_repo(repo)
    first = gh.get_pull(number).get_files().get_page(0)
    assert len(first) == 30 and time.monotonic() - started < 10
    last = call(session(BOT), "GET", f"{emulator.api_url}/repos/{repo}/pulls/{number}/files",
                list[models.DiffEntry], params={"per_page": 100, "page": 30})
    assert len(last) == 100 and all(entry["patch"].startswith("@@") for entry in last)
    assert call(session(BOT), "GET", f"{emulator.api_url}/repos/{repo}/pulls/{number}/files",
                list[models.DiffEntry], params={"per_page": 100, "page": 31}) == []
