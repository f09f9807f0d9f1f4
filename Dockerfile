# The codeagent action image: Python, git, codeagent and the Claude Code CLI.
# Real users build on the public Python image below. The test bench has no
# registry and passes a local one: --build-arg BASE_IMAGE=codeagent-base:bookworm.
ARG BASE_IMAGE=python:3.11-slim-bookworm
FROM ${BASE_IMAGE}

# The claude-agent-sdk wheel ships the self-contained Claude Code CLI binary
# (0.2.187 carries Claude Code 2.1.330). Keep in step with requirements-dev.txt.
ARG CLAUDE_AGENT_SDK_VERSION=0.2.187

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    CODEAGENT_CLI=/opt/codeagent/cli/claude

# git for the action itself; the public Python image lacks it.
RUN command -v git >/dev/null \
 || (apt-get update && apt-get install -y --no-install-recommends git ca-certificates \
     && rm -rf /var/lib/apt/lists/*)

COPY requirements.txt /opt/codeagent/requirements.txt
RUN python3 -m venv /opt/codeagent/venv \
 && /opt/codeagent/venv/bin/pip install --no-cache-dir -r /opt/codeagent/requirements.txt

# Only the CLI binary is kept from the wheel; the action does not import the SDK.
RUN /opt/codeagent/venv/bin/pip download --no-deps --no-cache-dir -d /tmp/sdk \
        "claude-agent-sdk==${CLAUDE_AGENT_SDK_VERSION}" \
 && mkdir -p /opt/codeagent/cli \
 && /opt/codeagent/venv/bin/python -c "import glob, zipfile; \
z = zipfile.ZipFile(glob.glob('/tmp/sdk/*.whl')[0]); \
open('/opt/codeagent/cli/claude', 'wb').write(z.read('claude_agent_sdk/_bundled/claude'))" \
 && chmod 0755 /opt/codeagent/cli/claude \
 && rm -rf /tmp/sdk \
 && /opt/codeagent/cli/claude --version

COPY entrypoint.py /opt/codeagent/entrypoint.py
COPY codeagent /opt/codeagent/codeagent

ENTRYPOINT ["/opt/codeagent/venv/bin/python", "/opt/codeagent/entrypoint.py"]
