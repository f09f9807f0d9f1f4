"""The JSON GitHub sends for each object, with every URL pointing at the emulator.

Field for field as the REST API (and event payloads) carry them; the test suite
checks each shape against githubkit's models generated from GitHub's OpenAPI spec.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from bench.github import gitrepo
from bench.github.review_shapes import ReviewShapes
from bench.github.state import (
    PERMISSION_OF_ROLE, REACTIONS, ROLES, Comment, Issue, Reaction, Repo, State, User, node_id,
)

_REPO_URL_TEMPLATES = {
    "forks_url": "/forks", "keys_url": "/keys{/key_id}", "collaborators_url": "/collaborators{/collaborator}",
    "teams_url": "/teams", "hooks_url": "/hooks", "issue_events_url": "/issues/events{/number}",
    "events_url": "/events", "assignees_url": "/assignees{/user}", "branches_url": "/branches{/branch}",
    "tags_url": "/tags", "blobs_url": "/git/blobs{/sha}", "git_tags_url": "/git/tags{/sha}",
    "git_refs_url": "/git/refs{/sha}", "trees_url": "/git/trees{/sha}", "statuses_url": "/statuses/{sha}",
    "languages_url": "/languages", "stargazers_url": "/stargazers", "contributors_url": "/contributors",
    "subscribers_url": "/subscribers", "subscription_url": "/subscription", "commits_url": "/commits{/sha}",
    "git_commits_url": "/git/commits{/sha}", "comments_url": "/comments{/number}",
    "issue_comment_url": "/issues/comments{/number}", "contents_url": "/contents/{+path}",
    "compare_url": "/compare/{base}...{head}", "merges_url": "/merges", "archive_url": "/{archive_format}{/ref}",
    "downloads_url": "/downloads", "issues_url": "/issues{/number}", "pulls_url": "/pulls{/number}",
    "milestones_url": "/milestones{/number}", "notifications_url": "/notifications{?since,all,participating}",
    "labels_url": "/labels{/name}", "releases_url": "/releases{/id}", "deployments_url": "/deployments",
}
_REPO_SETTINGS = {
    "allow_squash_merge": True, "allow_merge_commit": True, "allow_rebase_merge": True,
    "allow_auto_merge": False, "delete_branch_on_merge": False, "allow_update_branch": False,
    "use_squash_pr_title_as_default": False, "squash_merge_commit_message": "COMMIT_MESSAGES",
    "squash_merge_commit_title": "COMMIT_OR_PR_TITLE", "merge_commit_message": "PR_TITLE",
    "merge_commit_title": "MERGE_MESSAGE", "network_count": 0, "subscribers_count": 0,
}


@dataclass(frozen=True)
class Links:
    """Where the emulator lives: ``api`` (REST root) and ``web`` (the server, like https://github.com)."""

    api: str
    web: str


def _person(who: tuple[str, str, str]) -> dict[str, str]:
    return dict(zip(("name", "email", "date"), who))


class Renderer:
    """Turns state into GitHub's JSON; callers hold ``state.lock``."""

    def __init__(self, state: State, links: Links):
        self.state, self.links = state, links
        self.reviews = ReviewShapes(self)
        """Reviews and review comments."""

    def repo_api(self, repo: Repo) -> str:
        return f"{self.links.api}/repos/{repo.full_name}"

    def user(self, user: User) -> dict[str, Any]:
        """A simple-user."""
        api = f"{self.links.api}/users/{quote(user.login, safe='')}"
        slug = user.login.removesuffix("[bot]")
        return {
            "login": user.login, "id": user.id, "node_id": node_id(user.type, user.id),
            "avatar_url": f"{self.links.web}/avatars/u/{user.id}?v=4", "gravatar_id": "", "url": api,
            "html_url": f"{self.links.web}/apps/{slug}" if user.type == "Bot" else f"{self.links.web}/{user.login}",
            "followers_url": f"{api}/followers", "following_url": f"{api}/following{{/other_user}}",
            "gists_url": f"{api}/gists{{/gist_id}}", "starred_url": f"{api}/starred{{/owner}}{{/repo}}",
            "subscriptions_url": f"{api}/subscriptions", "organizations_url": f"{api}/orgs",
            "repos_url": f"{api}/repos", "events_url": f"{api}/events{{/privacy}}",
            "received_events_url": f"{api}/received_events", "type": user.type, "user_view_type": "public",
            "site_admin": False,
        }

    def login(self, login: str) -> dict[str, Any]:
        return self.user(self.state.user(login))

    def repo(self, repo: Repo, viewer: User | None = None, full: bool = True) -> dict[str, Any]:
        """A full-repository (``full``), else the repository shape nested in pulls."""
        api, html = self.repo_api(repo), f"{self.links.web}/{repo.full_name}"
        host = urlsplit(self.links.web).netloc
        open_count = sum(issue.state == "open" for issue in repo.issues.values())
        owner = self.login(repo.owner)
        data = {
            "id": repo.id, "node_id": node_id("Repository", repo.id), "name": repo.name,
            "full_name": repo.full_name, "private": repo.private, "owner": owner, "html_url": html,
            "description": None, "fork": repo.parent is not None, "url": api,
            **{key: api + suffix for key, suffix in _REPO_URL_TEMPLATES.items()},
            "created_at": repo.created_at, "updated_at": repo.created_at, "pushed_at": repo.created_at,
            "git_url": f"git://{host}/{repo.full_name}.git", "ssh_url": f"git@{host}:{repo.full_name}.git",
            "clone_url": f"{html}.git", "svn_url": html, "homepage": None, "size": 0,
            "stargazers_count": 0, "watchers_count": 0, "language": None, "has_issues": True,
            "has_projects": True, "has_downloads": True, "has_wiki": True, "has_pages": False,
            "has_discussions": False, "forks_count": 0, "mirror_url": None, "archived": False,
            "disabled": False, "open_issues_count": open_count, "license": None, "allow_forking": True,
            "is_template": False, "web_commit_signoff_required": False, "topics": [],
            "visibility": "private" if repo.private else "public", "forks": 0, "open_issues": open_count,
            "watchers": 0, "default_branch": repo.default_branch,
        }
        if viewer is not None:
            data["permissions"] = self.permissions(self.state.role(repo, viewer))
        if full:
            data.update(_REPO_SETTINGS, temp_clone_token=None)
            if repo.parent:
                data["parent"] = data["source"] = self.repo(self.state.repo(repo.parent), full=False)
            if owner["type"] == "Organization":
                data["organization"] = owner
        return data

    @staticmethod
    def permissions(role: str) -> dict[str, bool]:
        level = ROLES.index(role)
        return {name: level >= ROLES.index(needs) for name, needs in
                (("admin", "admin"), ("maintain", "maintain"), ("push", "write"), ("triage", "triage"),
                 ("pull", "read"))}

    def collaborator_permission(self, repo: Repo, user: User) -> dict[str, Any]:
        """``permission``: the legacy base role (maintain is write, triage read, a custom role its base's);
        ``role_name``: the role's own name, a custom role's included."""
        role, name = self.state.role(repo, user), self.state.role_name(repo, user)
        collaborator = {**self.user(user), "permissions": self.permissions(role), "role_name": name}
        return {"permission": PERMISSION_OF_ROLE[role], "role_name": name, "user": collaborator}

    def reaction_rollup(self, url: str, reactions: list[Reaction]) -> dict[str, Any]:
        counts = {content: sum(r.content == content for r in reactions) for content in REACTIONS}
        return {"url": f"{url}/reactions", "total_count": len(reactions), **counts}

    def reaction(self, reaction: Reaction) -> dict[str, Any]:
        return {"id": reaction.id, "node_id": node_id("Reaction", reaction.id),
                "user": self.login(reaction.author), "content": reaction.content,
                "created_at": reaction.created_at}

    def issue_html(self, repo: Repo, issue: Issue) -> str:
        kind = "pull" if issue.pull else "issues"
        return f"{self.links.web}/{repo.full_name}/{kind}/{issue.number}"

    def issue(self, repo: Repo, issue: Issue) -> dict[str, Any]:
        """An issue; a pull request's issue carries ``pull_request`` and ``draft``."""
        url, html = f"{self.repo_api(repo)}/issues/{issue.number}", self.issue_html(repo, issue)
        closed = issue.state == "closed"
        data = {
            "url": url, "repository_url": self.repo_api(repo), "labels_url": f"{url}/labels{{/name}}",
            "comments_url": f"{url}/comments", "events_url": f"{url}/events", "html_url": html,
            "id": issue.id, "node_id": node_id("Issue", issue.id), "number": issue.number,
            "title": issue.title, "user": self.login(issue.author), "labels": [], "state": issue.state,
            "locked": issue.locked, "assignee": None, "assignees": [], "milestone": None,
            "comments": len(self.state.comments_on(repo, issue.number)),
            "created_at": issue.created_at, "updated_at": issue.updated_at, "closed_at": issue.closed_at,
            "author_association": self.state.association(repo, issue.author, issue.association),
            "type": None, "active_lock_reason": None,
            "sub_issues_summary": {"total": 0, "completed": 0, "percent_completed": 0},
            "body": issue.body, "closed_by": None,
            "reactions": self.reaction_rollup(url, self.state.reactions_on(repo, issue.number, None)),
            "timeline_url": f"{url}/timeline", "performed_via_github_app": None,
            "state_reason": "completed" if closed and not issue.pull else None,
        }
        if issue.pull:
            data["draft"] = issue.pull.draft
            data["pull_request"] = {"url": f"{self.repo_api(repo)}/pulls/{issue.number}", "html_url": html,
                                    "diff_url": f"{html}.diff", "patch_url": f"{html}.patch", "merged_at": None}
        return data

    def comment(self, repo: Repo, comment: Comment) -> dict[str, Any]:
        """An issue comment (also the conversation comments of a pull request)."""
        issue = self.state.issue(repo, comment.issue_number)
        url = f"{self.repo_api(repo)}/issues/comments/{comment.id}"
        return {
            "url": url, "html_url": f"{self.issue_html(repo, issue)}#issuecomment-{comment.id}",
            "issue_url": f"{self.repo_api(repo)}/issues/{issue.number}", "id": comment.id,
            "node_id": node_id("IssueComment", comment.id), "user": self.login(comment.author),
            "created_at": comment.created_at, "updated_at": comment.updated_at,
            "author_association": self.state.association(repo, comment.author, comment.association),
            "body": comment.body,
            "reactions": self.reaction_rollup(url, self.state.reactions_on(repo, issue.number, comment.id)),
            "performed_via_github_app": None,
        }

    def pull(self, repo: Repo, issue: Issue, full: bool = True, fresh: bool = False) -> dict[str, Any]:
        """A pull request (``full``), else pull-request-simple as lists carry it.

        ``fresh``: just created, so mergeability is still being computed (null / "unknown").
        """
        pull, number = issue.pull, issue.number
        head_repo = self.state.repo(pull.head_repo) if pull.head_repo else repo
        pull.head_sha = gitrepo.branch_tips(head_repo.path).get(pull.head, pull.head_sha)
        pull.base_sha = gitrepo.branch_tips(repo.path).get(pull.base, pull.base_sha)
        self._sync_pull_ref(repo, head_repo, issue)
        url, html = f"{self.repo_api(repo)}/pulls/{number}", self.issue_html(repo, issue)
        issue_url = f"{self.repo_api(repo)}/issues/{number}"
        review_comment = f"{self.repo_api(repo)}/pulls/comments{{/number}}"
        statuses = f"{self.repo_api(repo)}/statuses/{pull.head_sha}"
        data = {
            "url": url, "id": pull.id, "node_id": node_id("PullRequest", pull.id), "html_url": html,
            "diff_url": f"{html}.diff", "patch_url": f"{html}.patch", "issue_url": issue_url,
            "number": number, "state": issue.state, "locked": False, "title": issue.title,
            "user": self.login(issue.author), "body": issue.body, "created_at": issue.created_at,
            "updated_at": issue.updated_at, "closed_at": issue.closed_at, "merged_at": pull.merged_at,
            "merge_commit_sha": pull.merge_commit_sha, "assignee": None, "assignees": [], "requested_reviewers": [],
            "requested_teams": [], "labels": [], "milestone": None, "draft": pull.draft,
            "commits_url": f"{url}/commits", "review_comments_url": f"{url}/comments",
            "review_comment_url": review_comment, "comments_url": f"{issue_url}/comments",
            "statuses_url": statuses,
            "head": self.pull_side(head_repo, pull.head, pull.head_sha),
            "base": self.pull_side(repo, pull.base, pull.base_sha),
            "_links": {name: {"href": href} for name, href in (
                ("self", url), ("html", html), ("issue", issue_url), ("comments", f"{issue_url}/comments"),
                ("review_comments", f"{url}/comments"), ("review_comment", review_comment),
                ("commits", f"{url}/commits"), ("statuses", statuses))},
            "author_association": self.state.association(repo, issue.author, issue.association),
            "auto_merge": None, "active_lock_reason": None,
        }
        if full:
            data.update(self._pull_details(repo, issue, fresh))
        return data

    @staticmethod
    def _sync_pull_ref(repo: Repo, head_repo: Repo, issue: Issue) -> None:
        """Keep ``refs/pull/N/head`` at the head's tip, as GitHub does: a fork's commits then live here too."""
        pull = issue.pull
        if pull.head_sha != pull.pull_ref_sha:
            gitrepo.fetch_into(repo.path, head_repo.path, pull.head_sha, f"refs/pull/{issue.number}/head")
            pull.pull_ref_sha = pull.head_sha

    def _pull_details(self, repo: Repo, issue: Issue, fresh: bool) -> dict[str, Any]:
        pull = issue.pull
        additions, deletions, changed = gitrepo.diff_stats(repo.path, pull.base_sha, pull.head_sha)
        state = "unknown" if fresh else "draft" if pull.draft else "clean"
        return {
            "merged": pull.merged, "mergeable": None if fresh else True, "rebaseable": None if fresh else True,
            "mergeable_state": state, "merged_by": None,
            "comments": len(self.state.comments_on(repo, issue.number)),
            "review_comments": len(self.state.review_comments_on(repo, issue.number)),
            "maintainer_can_modify": False,
            "commits": len(gitrepo.commits_between(repo.path, pull.base_sha, pull.head_sha)),
            "additions": additions, "deletions": deletions, "changed_files": changed,
        }

    def pull_side(self, repo: Repo, ref: str, sha: str) -> dict[str, Any]:
        return {"label": f"{repo.owner}:{ref}", "ref": ref, "sha": sha, "user": self.login(repo.owner),
                "repo": self.repo(repo, full=False)}

    def commit(self, repo: Repo, sha: str) -> dict[str, Any]:
        info = gitrepo.commit_info(repo.path, sha)
        api, html = self.repo_api(repo), f"{self.links.web}/{repo.full_name}"
        return {
            "sha": info.sha, "node_id": node_id("Commit", f"{repo.id}:{info.sha}"),
            "commit": {
                "author": _person(info.author), "committer": _person(info.committer), "message": info.message,
                "tree": {"sha": info.tree, "url": f"{api}/git/trees/{info.tree}"},
                "url": f"{api}/git/commits/{info.sha}", "comment_count": 0,
                "verification": {"verified": False, "reason": "unsigned", "signature": None, "payload": None,
                                 "verified_at": None},
            },
            "url": f"{api}/commits/{info.sha}", "html_url": f"{html}/commit/{info.sha}",
            "comments_url": f"{api}/commits/{info.sha}/comments",
            "author": self.user_by_email(info.author[1]), "committer": self.user_by_email(info.committer[1]),
            "parents": [{"sha": p, "url": f"{api}/commits/{p}", "html_url": f"{html}/commit/{p}"}
                        for p in info.parents],
        }

    def user_by_email(self, email: str) -> dict[str, Any] | None:
        """GitHub links a commit to an account by email; here only noreply addresses of known users."""
        local, _, domain = email.partition("@")
        login = local.partition("+")[2] or local
        user = self.state.find_user(login) if domain == "users.noreply.github.com" else None
        return self.user(user) if user else None

    def branch(self, repo: Repo, name: str, sha: str) -> dict[str, Any]:
        """A branch-with-protection, as GET /branches/{branch} answers."""
        url = f"{self.repo_api(repo)}/branches/{quote(name)}"
        return {
            "name": name, "commit": self.commit(repo, sha),
            "_links": {"self": url, "html": f"{self.links.web}/{repo.full_name}/tree/{quote(name)}"},
            "protected": False,
            "protection": {"enabled": False, "required_status_checks": {
                "enforcement_level": "off", "contexts": [], "checks": []}},
            "protection_url": f"{url}/protection",
        }

    def ref(self, repo: Repo, name: str, sha: str) -> dict[str, Any]:
        """A git reference for branch ``name``."""
        ref = f"refs/heads/{name}"
        return {"ref": ref, "node_id": node_id("Ref", f"{repo.id}:{ref}"),
                "url": f"{self.repo_api(repo)}/git/{quote(ref)}",
                "object": {"sha": sha, "type": "commit", "url": f"{self.repo_api(repo)}/git/commits/{sha}"}}
