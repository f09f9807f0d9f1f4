"""Is the model key usable? Asked once, before any branch or pull request exists.

Listing the models costs nothing and needs a valid key: a 401 or 403 (Google: a 400 whose
reason is ``API_KEY_INVALID``) means the key is wrong, and the run stops with a message saying
which secret to fix. Anything else (a gateway without that endpoint, a network hiccup) is not
a verdict on the key: the run goes on and the agent reports what it meets.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from codeagent.errors import ConfigError
from codeagent.gateway.vendors import VENDORS

DEFAULT_URLS = {"anthropic": "https://api.anthropic.com", "openai": "https://api.openai.com/v1",
                "google": "https://generativelanguage.googleapis.com"}
"""Each vendor's own API, when the workflow sets no base URL."""
MODELS_PATH = {"anthropic": "/v1/models?limit=1", "openai": "/models", "google": "/v1beta/models?pageSize=1"}
KEY_INVALID = "API_KEY_INVALID"
"""The reason Google gives a wrong key, with a 400 (not a 401): https://ai.google.dev/gemini-api/docs/troubleshooting"""
SECRET_NAMES = {"anthropic-api-key": "ANTHROPIC_API_KEY", "claude-code-oauth-token": "CLAUDE_CODE_OAUTH_TOKEN",
                "openai-api-key": "OPENAI_API_KEY", "gemini-api-key": "GEMINI_API_KEY"}


def check_key(vendor: str, secret: str, base_url: str, input_name: str, oauth: bool = False,
              timeout_s: float = 15.0) -> str:
    """Raise ConfigError when the API refuses ``secret``; otherwise a short note of what was seen."""
    base = (base_url or DEFAULT_URLS[vendor]).rstrip("/")
    if oauth:
        return "a subscription token is not checked before the run; the agent's first call will tell"
    url = base + MODELS_PATH[vendor]
    headers = VENDORS[vendor].credential(secret)
    if vendor == "anthropic":
        headers["anthropic-version"] = "2023-06-01"
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout_s) as response:
            return f"the model API at {base} accepted the key ({response.status})"
    except urllib.error.HTTPError as error:
        body = _error_body(error)
        if error.code in (401, 403) or (error.code == 400 and KEY_INVALID in json.dumps(body)):
            secret_name = SECRET_NAMES.get(input_name, input_name.upper().replace("-", "_"))
            raise ConfigError(
                f"input `{input_name}`: the model API at {base} refused the key ({error.code} "
                f"{_message(body, error)}). Check the repository secret {secret_name} (Settings → Secrets and "
                f"variables → Actions) and that the workflow passes it as "
                f"`{input_name}: ${{{{ secrets.{secret_name} }}}}`.") from None
        return f"could not check the key ({error.code}); going on"
    except (urllib.error.URLError, OSError) as error:
        return f"could not reach {base} to check the key ({error}); going on"


def _error_body(error: urllib.error.HTTPError) -> dict:
    try:
        body = json.loads(error.read() or b"{}")
    except (ValueError, OSError):
        return {}
    return body if isinstance(body, dict) else {}


def _message(body: dict, error: urllib.error.HTTPError) -> str:
    """The error message of a vendor's error body, if there is one."""
    inner = body.get("error")
    return str(inner.get("message") if isinstance(inner, dict) else inner or "") or str(error.reason)
