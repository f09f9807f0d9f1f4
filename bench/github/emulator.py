"""A GitHub on loopback for the bench: REST, GraphQL and git smart HTTP, stateful.

Laid out like GitHub Enterprise Server: REST under ``/api/v3``, GraphQL at
``/api/graphql``, git at ``/{owner}/{name}.git``. PyGithub works against it with
``Github(auth=Auth.Token(token), base_url=emulator.api_url)``; git with Basic auth
whose password is the token, as actions/checkout sends it.

    with GitHubEmulator(tmp_path) as github:
        github.add_token(token, "github-actions[bot]", type="Bot")
        github.create_repo("octo-org/textstats", files_dir)
        issue = github.create_issue("octo-org/textstats", "Title", "Body", author="octo-owner")

Endpoints: `routes` (the REST table: `rest`, `pulls`, `reviews`, `actions`, on `api`), `graphql`; JSON shapes:
`shapes` and `review_shapes`; state: `state`; seeding pull requests, forks and reviews:
`seed` (``emulator.prs``); git: `gitrepo`; faults: `faults`. Every request lands in
``request_log``; one that no endpoint serves also lands in ``unknown_requests``,
one the emulator fails on in ``server_errors``. Every REST and GraphQL exchange is checked against
GitHub's OpenAPI description and GraphQL schema (`spec.conformance`): what they say is wrong with
the request or the answer lands in ``spec_violations``.
"""

from __future__ import annotations

import json
import re
import threading
import time
import traceback
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from bench.github import api, gitrepo, graphql, http_wire
from bench.github.routes import ROUTES
from bench.github.faults import Faults
from bench.github.seed import PullSeeding
from bench.github.shapes import Links, Renderer
from bench.github.spec.conformance import SpecCheck, preload, require_installed
from bench.github.state import CUSTOM_ROLE_BASES, PLANS, ROLES, SCOPE_LEVELS, NotFound, Repo, State, now_iso

NOT_FOUND = api.error_body(404, "Not Found", api.DOCS)
GIT_PATH = re.compile(r"^/(?P<owner>[^/]+)/(?P<name>[^/]+?)\.git(?P<rest>/.*)$")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # The answer's headers and body are two writes: with Nagle's algorithm the body waits for the
    # client's delayed ACK, 40 ms an answer on loopback, which the servers it stands for do not add.
    disable_nagle_algorithm = True

    def version_string(self) -> str:
        return "GitHub.com"

    def do_GET(self) -> None:
        self.server.emulator.serve(self)

    do_POST = do_PATCH = do_PUT = do_DELETE = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: ``request_log`` has every request."""


class GitHubEmulator:
    """The emulator: ``start()`` (or ``with``) serves it on ``host``, a free port unless given."""

    def __init__(self, root: Path, host: str = "127.0.0.1", port: int = 0):
        self.root = Path(root)
        """Bare repositories live here as ``owner/name.git``."""
        self.host, self.port = host, port
        self.state = State()
        self.faults = Faults()
        self.request_log: list[dict[str, Any]] = []
        self.unknown_requests: list[dict[str, Any]] = []
        self.server_errors: list[str] = []
        """Tracebacks of requests the emulator itself failed on (answered 500)."""
        self.spec = SpecCheck()
        """The check of every REST and GraphQL exchange against GitHub's descriptions of its API."""
        self.api_url = self.server_url = self.graphql_url = ""
        self._rate_used: Counter[str] = Counter()
        self._rate_reset = int(time.time()) + 3600
        self._server: ThreadingHTTPServer | None = None
        self._render = Renderer(self.state, Links("", ""))
        self.prs = PullSeeding(self)
        """Pull requests, forks, reviews and review comments: seeding them and reading them."""

    @property
    def renderer(self) -> Renderer:
        """JSON as GitHub serves it, with this emulator's links."""
        return self._render

    # -- lifecycle --

    def start(self) -> GitHubEmulator:
        require_installed()  # say how to install GitHub's API descriptions now, not on the first request
        preload()  # and load them before serving: the first request is not slower than the others
        self.root.mkdir(parents=True, exist_ok=True)
        self._server = ThreadingHTTPServer((self.host, self.port), _Handler)
        self._server.daemon_threads = True
        self._server.emulator = self
        self.server_url = f"http://{self.host}:{self._server.server_address[1]}"
        self.api_url, self.graphql_url = f"{self.server_url}/api/v3", f"{self.server_url}/api/graphql"
        self._render = Renderer(self.state, Links(self.api_url, self.server_url))
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                         name="github-emulator", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> GitHubEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- seeding --

    def add_user(self, login: str, type: str = "User") -> None:
        """Make ``login`` known (``type``: User, Bot or Organization); users also appear on first mention."""
        with self.state.lock:
            self.state.user(login, type)

    def add_token(self, token: str, login: str, type: str = "User",
                  permissions: dict[str, str] | None = None) -> None:
        """Requests with ``token`` act as ``login``. ``permissions`` scope the token as a job's
        ``permissions:`` scope the workflow token (``{"actions": "write", ...}``, a missing one is
        ``none``); the emulator enforces the ``actions`` scope (more scopes are not modelled yet)."""
        with self.state.lock:
            self.state.tokens[token] = self.state.user(login, type).login
            if permissions is not None:
                unknown = {level for level in permissions.values() if level not in SCOPE_LEVELS}
                if unknown:
                    raise ValueError(f"permission levels are {SCOPE_LEVELS}, not {sorted(unknown)}")
                self.state.token_scopes[token] = dict(permissions)

    def create_repo(self, full_name: str, files: Path, default_branch: str = "main", private: bool = False,
                    plan: str = "free", gitlinks: dict[str, str] | None = None) -> None:
        """A repository whose default branch has one "Initial commit" of ``files`` (and ``gitlinks``,
        submodule pointers path -> sha), by its owner (``plan``: the owner's GitHub plan, which decides
        whether a private repository can have drafts)."""
        if plan not in PLANS:
            raise ValueError(f"plan {plan!r} is not one of {PLANS}")
        owner, name = full_name.split("/")
        path = self.root / owner / f"{name}.git"
        with self.state.lock:
            if full_name.lower() in self.state.repos:
                raise ValueError(f"{full_name} exists already")
            owner_login = self.state.user(owner).login
            gitrepo.init_bare(path, Path(files), default_branch,
                             (owner_login, f"{owner_login}@users.noreply.github.com"), gitlinks)
            repo = Repo(self.state.next_id("repo"), owner, name, path, default_branch, private, now_iso(),
                        plan=plan)
            self.state.repos[full_name.lower()] = repo

    def add_custom_role(self, organization: str, name: str, base: str) -> None:
        """An organization's custom repository role ``name``, which grants what its ``base`` role does."""
        if base not in CUSTOM_ROLE_BASES or name in ROLES:
            raise ValueError(f"a custom role has a name of its own and a base among {CUSTOM_ROLE_BASES}")
        with self.state.lock:
            self.state.custom_roles.setdefault(organization.lower(), {})[name] = base

    def set_permission(self, full_name: str, login: str, role: str) -> None:
        """Give ``login`` a role on the repository: admin, maintain, write, triage, read, none, or a
        custom role of the repository's owner (`add_custom_role`)."""
        with self.state.lock:
            repo = self.state.repo(full_name)
            custom = self.state.custom_roles.get(repo.owner.lower(), {})
            if role not in ROLES and role not in custom:
                raise ValueError(f"role {role!r} is not one of {ROLES} nor a custom role of {repo.owner}")
            repo.roles[self.state.user(login).login.lower()] = role

    def create_issue(self, full_name: str, title: str, body: str, author: str, number: int | None = None,
                     author_association: str | None = None, locked: bool = False) -> dict[str, Any]:
        """Open an issue (number: the next free one unless given; ``locked``: its conversation) and return its JSON."""
        with self.state.lock:
            repo = self.state.repo(full_name)
            issue = self.state.add_issue(repo, title, body, author, number, author_association)
            issue.locked = locked
            return self._render.issue(repo, issue)

    def add_issue_comment(self, full_name: str, number: int, author: str, body: str,
                          author_association: str | None = None) -> dict[str, Any]:
        """Comment on an issue or PR; the comment JSON as an event payload carries it."""
        with self.state.lock:
            repo = self.state.repo(full_name)
            comment = self.state.add_comment(repo, number, author, body, author_association)
            return self._render.comment(repo, comment)

    def edit_issue(self, full_name: str, number: int, title: str | None = None, body: str | None = None) -> None:
        """Change an issue's title or body, as its author's edit does (its ``updated_at`` moves)."""
        with self.state.lock:
            issue = self.state.issue(self.state.repo(full_name), number)
            if title is not None:
                issue.title = title
            if body is not None:
                issue.body = body
            issue.updated_at = now_iso()

    def edit_issue_comment(self, full_name: str, comment_id: int, body: str) -> None:
        """Change a comment's body, as its author's edit does."""
        with self.state.lock:
            comment = self.state.comment(self.state.repo(full_name), comment_id)
            comment.body, comment.updated_at = body, now_iso()

    # -- reading: JSON as GitHub serves it --

    def repo_json(self, full_name: str) -> dict[str, Any]:
        with self.state.lock:
            return self._render.repo(self.state.repo(full_name))

    def issue_json(self, full_name: str, number: int) -> dict[str, Any]:
        with self.state.lock:
            repo = self.state.repo(full_name)
            return self._render.issue(repo, self.state.issue(repo, number))

    def user_json(self, login: str) -> dict[str, Any]:
        with self.state.lock:
            return self._render.login(login)

    def clone_url(self, full_name: str) -> str:
        with self.state.lock:
            return f"{self.server_url}/{self.state.repo(full_name).full_name}.git"

    # -- reading: the outcome, for reports --

    def pulls(self, full_name: str) -> list[dict[str, Any]]:
        with self.state.lock:
            repo = self.state.repo(full_name)
            return [{"number": i.number, "title": i.title, "body": i.body, "head": i.pull.head,
                     "base": i.pull.base, "draft": i.pull.draft, "state": i.state,
                     "head_repo": i.pull.head_repo or repo.full_name, "merged": i.pull.merged}
                    for i in sorted(repo.issues.values(), key=lambda i: i.number) if i.pull]

    def branches(self, full_name: str) -> list[dict[str, Any]]:
        """Every branch with its commits since the default branch (oldest first)."""
        with self.state.lock:
            repo = self.state.repo(full_name)
        tips = gitrepo.branch_tips(repo.path)
        base = tips.get(repo.default_branch)
        return [{"name": name, "commits": [self._commit_summary(repo, sha)
                                           for sha in gitrepo.commits_between(repo.path, base, tip)]}
                for name, tip in sorted(tips.items())]

    def forced_pushes(self, full_name: str) -> list[str]:
        """Every push that moved a branch of the repository (or a fork of it) to a commit not containing
        where it was: ``ref old..new``."""
        with self.state.lock:
            repos = [repo for repo in self.state.repos.values()
                     if repo.full_name == full_name or repo.parent == full_name]
        return [f"{repo.full_name} {push}" for repo in repos for push in gitrepo.forced_pushes(repo.path)]

    @staticmethod
    def _commit_summary(repo: Repo, sha: str) -> dict[str, Any]:
        info = gitrepo.commit_info(repo.path, sha)
        return {"sha": sha, "message": info.message, "author": f"{info.author[0]} <{info.author[1]}>",
                "files": gitrepo.files_changed(repo.path, sha)}

    def comments(self, full_name: str) -> list[dict[str, Any]]:
        """Every issue and PR comment in creation order, with its text after edits."""
        with self.state.lock:
            repo = self.state.repo(full_name)
            return [{"id": c.id, "issue_number": c.issue_number, "author": c.author, "body": c.body}
                    for c in self.state.comments if c.repo == repo.full_name]

    def reactions(self, full_name: str) -> list[dict[str, Any]]:
        """Every reaction; ``comment_id`` is None for one on the issue or PR itself. One on a pull
        request review comment also has ``review_comment: True`` (``comment_id`` is the review comment's)."""
        with self.state.lock:
            repo = self.state.repo(full_name)
            return [{"comment_id": r.comment_id, "issue_number": r.issue_number, "content": r.content,
                     "author": r.author, **({"review_comment": True} if r.review_comment else {})}
                    for r in self.state.reactions if r.repo == repo.full_name]

    def dispatches(self, full_name: str) -> list[dict[str, Any]]:
        """Every workflow run requested through the API: ``workflow`` (its path), ``ref``, ``inputs``, ``actor``."""
        with self.state.lock:
            repo = self.state.repo(full_name)
            return [{"workflow": d.workflow, "ref": d.ref, "inputs": dict(d.inputs), "actor": d.actor}
                    for d in self.state.dispatches if d.repo == repo.full_name]

    def api_requests(self, since: float | None = None, start: int = 0,
                     token: str | None = None) -> list[dict[str, Any]]:
        """REST and GraphQL requests (not git) from the ``start``-th on: method, path (without /api/v3),
        status; with ``since`` (epoch seconds) also ``time``: seconds from then to the request's arrival.
        With ``token``, only those made with it or with none (another run's are left out)."""
        return [{**{key: entry[key] for key in ("method", "path", "status")},
                 **({} if since is None else {"time": round(entry["time"] - since, 3)})}
                for entry in [e for e in list(self.request_log) if e["kind"] != "git"][start:]
                if token is None or entry["token"] in (None, token)]

    @property
    def spec_violations(self) -> list[dict[str, Any]]:
        """Exchanges GitHub's descriptions of its API disagree with (the allowlist's excuses left out):
        ``method, path, query, status, operation, problems``. Should be ``[]``."""
        return self.spec.violations

    # -- serving --

    def serve(self, handler: BaseHTTPRequestHandler) -> None:
        """Answer one request, a pending fault first; logged before the answer leaves, so callers see it."""
        started, url = time.time(), urlsplit(handler.path)
        kind, path = self._classify(url.path)
        body = http_wire.read_body(handler)
        fault = self.faults.take(handler.command, path)
        if fault is not None and fault.delay:
            time.sleep(fault.delay)
        try:
            if fault is not None and fault.status is not None:
                status, headers, payload = self._api_answer(fault.status, fault.response_body(), kind)
                headers.update(fault.response_headers())
            elif kind == "git":
                status, headers, payload = self._serve_git(handler, url.path, url.query, body)
            else:
                status, headers, payload = self._serve_api(handler, kind, path, url.query, body)
        except Exception:  # a bug of the emulator: answer like GitHub would, keep the traceback
            self.server_errors.append(traceback.format_exc())
            status, headers, payload = self._api_answer(500, api.error_body(500, "Server Error", api.DOCS),
                                                        kind)
        self.request_log.append({
            "method": handler.command, "path": path, "query": url.query, "kind": kind, "status": status,
            "time": started, "fault": fault is not None, "body_bytes": len(body),
            "token": http_wire.credential(handler.headers.get("Authorization")),
            "chunked": "chunked" in handler.headers.get("Transfer-Encoding", "").lower()})
        if kind in ("rest", "graphql"):  # a fault's answer is the scenario's: only the request is checked
            self.spec.check(handler.command, kind, path, url.query, body, status, headers, payload,
                            answer_is_ours=fault is None or fault.status is None)
        http_wire.send(handler, status, headers, payload)

    @staticmethod
    def _classify(path: str) -> tuple[str, str]:
        """The kind of request (rest, graphql, git, other) and its path as GitHub.com would see it."""
        if path == "/api/v3" or path.startswith("/api/v3/"):
            return "rest", path[len("/api/v3"):] or "/"
        if path == "/api/graphql":
            return "graphql", "/graphql"
        return ("git" if GIT_PATH.match(path) else "other"), path

    def _serve_api(self, handler: BaseHTTPRequestHandler, kind: str, path: str, query: str,
                   body: bytes) -> tuple[int, dict[str, str], bytes]:
        token = http_wire.credential(handler.headers.get("Authorization"))
        with self.state.lock:
            user = self.state.token_user(token) if token else None
            if kind == "other":
                status, data = self._unknown(handler.command, path, query, body)
            elif user is None:
                message = "Bad credentials" if token else "Requires authentication"
                status, data = 401, api.error_body(401, message, api.DOCS)
            else:
                status, data, extra = self._dispatch(handler.command, kind, path, query, body, user, token)
                return self._api_answer(status, data, kind, token, extra)
        return self._api_answer(status, data, kind, token)

    def _dispatch(self, method: str, kind: str, path: str, query: str, body: bytes,
                  user: Any, token: str) -> tuple[int, Any, dict[str, str]]:
        try:
            data = json.loads(body) if body.strip() else {}
        except ValueError:
            return 400, api.error_body(400, "Problems parsing JSON", api.DOCS), {}
        data = data if isinstance(data, dict) else {}
        if kind == "graphql":
            answer = graphql.handle(self.state, self._render, user, data)
            if answer is None:
                self._unknown(method, path, query, body)
                answer = {"errors": [{"message": "The GitHub emulator does not implement this operation"}]}
            return 200, answer, {}
        reply = api.handle(ROUTES, self.state, self._render, user, method, path, dict(parse_qsl(query)), data,
                           token)
        if reply is None:
            return (*self._unknown(method, path, query, body), {})
        return reply.status, reply.body, reply.headers

    def _unknown(self, method: str, path: str, query: str, body: bytes) -> tuple[int, dict[str, Any]]:
        self.unknown_requests.append({"method": method, "path": path, "query": query,
                                      "body": body.decode(errors="replace")})
        return 404, NOT_FOUND

    def _api_answer(self, status: int, data: Any, kind: str, token: str | None = None,
                    extra: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
        """Status, GitHub's headers (rate limit counted per token) and the body."""
        payload = http_wire.payload_bytes(data)
        with self.state.lock:
            self._rate_used[token or ""] += 1
            used = self._rate_used[token or ""]
        resource = "graphql" if kind == "graphql" else "core"
        return status, {**http_wire.api_headers(status, payload, used, self._rate_reset, resource),
                        **(extra or {})}, payload

    def _serve_git(self, handler: BaseHTTPRequestHandler, path: str, query: str,
                   body: bytes) -> tuple[int, dict[str, str], bytes]:
        """Smart HTTP through `git http-backend`, after GitHub's checks: who, which repo, may they push."""
        match = GIT_PATH.match(path)
        push = match["rest"].endswith("/git-receive-pack") or "service=git-receive-pack" in query
        text = {"Content-Type": "text/plain; charset=utf-8"}
        if len(handler.headers.get_all("Authorization") or []) > 1:
            # Two credentials, e.g. actions/checkout v6's included header and another one of the same
            # key: GitHub refuses the request (git shows "remote: Duplicate header" and fails with 400).
            return 400, text, b'Duplicate header: "Authorization"\n'
        token = http_wire.credential(handler.headers.get("Authorization"))
        with self.state.lock:
            user = self.state.token_user(token) if token else None
            try:
                repo = self.state.repo(f"{match['owner']}/{match['name']}", viewer=user) if user else None
            except NotFound:
                repo = None
            role = self.state.role(repo, user) if repo else "none"
        if user is None:
            return 401, {**text, "WWW-Authenticate": 'Basic realm="GitHub"'}, \
                b"Invalid username or token. Password authentication is not supported for Git operations.\n"
        if repo is None:
            return 404, text, b"Repository not found.\n"
        if push and ROLES.index(role) < ROLES.index("write"):
            return 403, text, f"Permission to {repo.full_name}.git denied to {user.login}.\n".encode()
        request = gitrepo.CgiRequest(
            method=handler.command, path_info=f"/{repo.owner}/{repo.name}.git{match['rest']}", query=query,
            body=body, content_type=handler.headers.get("Content-Type", ""),
            content_encoding=handler.headers.get("Content-Encoding", ""),
            git_protocol=handler.headers.get("Git-Protocol", ""), remote_user=user.login, pusher_type=user.type)
        status, headers, payload = gitrepo.http_backend(self.root, request)
        return status, dict(headers), payload
