"""Is the Anthropic key usable? Asked once, before any branch or pull request exists.

``GET /v1/models`` costs nothing and needs a valid key: a 401 or 403 means the key
is wrong, and the run stops with a message saying which secret to fix. Anything
else (a gateway without that endpoint, a network hiccup) is not a verdict on the
key: the run goes on and Claude Code reports what it meets.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from codeagent.errors import ConfigError

DEFAULT_BASE_URL = "https://api.anthropic.com"
API_VERSION = "2023-06-01"


def check_api_key(api_key: str, base_url: str = "", timeout_s: float = 15.0) -> str:
    """Raise ConfigError when the API refuses ``api_key``; otherwise a short note of what was seen."""
    url = (base_url or DEFAULT_BASE_URL).rstrip("/") + "/v1/models?limit=1"
    request = urllib.request.Request(url, headers={"x-api-key": api_key, "anthropic-version": API_VERSION})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            return f"the Anthropic API accepted the key ({response.status})"
    except urllib.error.HTTPError as error:
        if error.code in (401, 403):
            raise ConfigError(
                f"input `anthropic-api-key`: the Anthropic API at {url.split('/v1/')[0]} refused the key "
                f"({error.code} {_message(error)}). Check the repository secret ANTHROPIC_API_KEY "
                "(Settings → Secrets and variables → Actions) and that the workflow passes it as "
                "`anthropic-api-key: ${{ secrets.ANTHROPIC_API_KEY }}`."
            ) from None
        return f"could not check the key ({error.code}); going on"
    except (urllib.error.URLError, OSError) as error:
        return f"could not reach {url.split('/v1/')[0]} to check the key ({error}); going on"


def _message(error: urllib.error.HTTPError) -> str:
    """The ``error.message`` of an Anthropic error body, if there is one."""
    try:
        body = json.loads(error.read() or b"{}")
        return str(body.get("error", {}).get("message", "")) or error.reason
    except (ValueError, AttributeError):
        return str(error.reason)
