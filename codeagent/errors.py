"""Failures a user can hit, each with a message that says how to fix it.

The entry point alone turns a `CodeagentError` into an `::error::` annotation, a
step-summary section, a comment where one fits and an exit code; code deeper down
only raises.
"""


class CodeagentError(Exception):
    """A failure a user can hit; the message says what went wrong and how to fix it."""

    title = "codeagent failed"
    """Short heading for the step summary and the failure comment."""


class ConfigError(CodeagentError):
    """An action input or `.github/codeagent.yml` is invalid."""

    title = "Invalid configuration"


class SubjectNotFound(ConfigError):
    """A manual run names an issue or pull request the repository does not have."""

    title = "No such issue"


class EventError(CodeagentError):
    """The event payload is malformed or misses something the action needs."""

    title = "Unexpected event"


class PermissionDenied(CodeagentError):
    """The commenter may not use the action, or the token lacks a permission."""

    title = "Permission denied"


class GitHubError(CodeagentError):
    """A GitHub API call failed in a way retrying did not fix."""

    title = "GitHub API error"


class GitError(CodeagentError):
    """A git operation on the checkout failed."""

    title = "Git error"


class RefRefused(GitError):
    """The server refused a push to a ref for a reason of its own (a hook, a rule), not a lost race."""


class SandboxError(CodeagentError):
    """The sandbox container could not be started or stopped unexpectedly."""

    title = "Sandbox error"


class SetupError(CodeagentError):
    """The project's setup (`setup`, a devcontainer's `postCreateCommand`) failed in the sandbox."""

    title = "Setup failed"


class AgentError(CodeagentError):
    """The coding agent failed or produced no usable result."""

    title = "Agent error"


class Cancelled(CodeagentError):
    """The runner cancelled the job (SIGTERM)."""

    title = "Cancelled"


class PullRequestChanged(CodeagentError):
    """The pull request closed, merged or moved while this run waited for the branch."""

    title = "Pull request changed"


class BranchBusy(CodeagentError):
    """Another run kept working on the branch for longer than this one could wait."""

    title = "Branch busy"
