"""Is the model key usable? Asked once, before any branch or pull request exists.

Listing the models costs nothing and needs a valid key: a 401 or 403 means the key is
wrong, and the run stops with a message saying which secret to fix. Anything else (a
gateway without that endpoint, a network hiccup) is not a verdict on the key: the run goes
on and the agent reports what it meets.
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
        if error.code in (401, 403):
            secret_name = SECRET_NAMES.get(input_name, input_name.upper().replace("-", "_"))
            raise ConfigError(
                f"input `{input_name}`: the model API at {base} refused the key ({error.code} {_message(error)}). "
                f"Check the repository secret {secret_name} (Settings → Secrets and variables → Actions) and that "
                f"the workflow passes it as `{input_name}: ${{{{ secrets.{secret_name} }}}}`.") from None
        return f"could not check the key ({error.code}); going on"
    except (urllib.error.URLError, OSError) as error:
        return f"could not reach {base} to check the key ({error}); going on"


def _message(error: urllib.error.HTTPError) -> str:
    """The error message of a vendor's error body, if there is one."""
    try:
        body = json.loads(error.read() or b"{}")
        inner = body.get("error") if isinstance(body, dict) else None
        return str(inner.get("message") if isinstance(inner, dict) else inner or "") or str(error.reason)
    except (ValueError, AttributeError):
        return str(error.reason)
