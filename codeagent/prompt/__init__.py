"""The agent's task, in words: the issue or pull request thread, sanitized, the request and our rules.

`sanitize` strips what GitHub hides from a reader; `issue` and `pull_request` build the two
prompts; `common` holds what they share (the thread's types, the rules, the size budget).
"""

from codeagent.prompt.common import MAX_PROMPT_BYTES, RULES, IssueThread, ThreadComment
from codeagent.prompt.issue import DEFAULT_TEMPLATE, PLACEHOLDERS, build_prompt, check_template
from codeagent.prompt.pull_request import PullRequestThread, build_followup_prompt
from codeagent.prompt.sanitize import MAX_TEXT_CHARS, sanitize, truncate

__all__ = ["DEFAULT_TEMPLATE", "MAX_PROMPT_BYTES", "MAX_TEXT_CHARS", "PLACEHOLDERS", "RULES", "IssueThread",
           "PullRequestThread", "ThreadComment", "build_followup_prompt", "build_prompt", "check_template",
           "sanitize", "truncate"]
