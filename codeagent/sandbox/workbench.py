"""The sandbox side of one run: where the agent, the project's setup and its tests run, and the packer.

Every command runs in a fresh sibling container with no network: the checkout mounted
read-write, a `.git` of the agent's own over the checkout's, the action repository's objects
read-only, the agent's HOME, and the directory of the gateway's socket, which the forwarder
inside exposes as ``127.0.0.1:PORT`` (the model's base URL and the HTTP(S) proxy). When a
command ends, its container and every process in it are gone: nothing the agent starts can
outlive its turn and change the files while they are checked or packed.

Then the packer, in a container of its own with no gateway at all, reads the checkout and
writes the change as data (`pack`); the action checks it (`codeagent.publish`).
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from codeagent.agent.base import AgentCli, AgentRun, LaunchRequest
from codeagent.changes import Caps
from codeagent.checkout import AGENT_OBJECTS, Checkout
from codeagent.errors import SandboxError
from codeagent.gateway import Gateway, Usage
from codeagent.log import Log
from codeagent.sandbox.engine import CLI_DIR, ContainerSpec, Engine, Limits, Mount
from codeagent.sandbox.files import LineBudget, TranscriptFile, give_to
from codeagent.sandbox.packer import (PACKER_CHECKOUT, WAIT_S, EarlyPacker, PackerPlace, PackRequest, check_packed,
                                     packed_early, packer_spec)
from codeagent.sandbox.results import StepResult

FORWARD_PORT = 3128
"""Where the forwarder listens inside the sandbox (its own network namespace, so never taken)."""
FORWARDER = "codeagent-forward"
"""The forwarder's file in the CLI directory."""
GATEWAY_DIR = "/run/codeagent"
SANDBOX_HOME = "/tmp/codeagent-home"
LOG_LINES = 2000
"""Lines of one agent run shown in the log (and the progress comment's activity); a flood past it is counted."""
STEP_TAIL = 30
"""Lines of a setup or test command's output kept for the progress comment and the PR."""


@dataclass(frozen=True)
class StateDirs:
    """This run's directories under the runner's temp space (the sandbox sees some of them)."""

    root: Path

    @property
    def home(self) -> Path:
        return self.root / "home"

    @property
    def agent_git(self) -> Path:
        return self.root / "agent-git"

    @property
    def gateway_socket(self) -> Path:
        return self.root / "gateway" / "gateway.sock"

    @property
    def repository(self) -> Path:
        return self.root / "repo.git"

    @property
    def pack(self) -> Path:
        return self.root / "pack"

    @property
    def transcript(self) -> Path:
        return self.root / "transcript.jsonl"


@dataclass(frozen=True)
class SandboxImage:
    """The image the commands run in, and what comes with it."""

    name: str
    """The action's own image, a devcontainer's or `sandbox-image`."""
    env: dict[str, str] = field(default_factory=dict)
    """The project's own variables (a devcontainer's `containerEnv`)."""
    setup: tuple[str, ...] = ()
    """Commands the image asks for before work starts (a devcontainer's `postCreateCommand`)."""
    notes: tuple[str, ...] = ()
    """What the user should know about the choice (skipped devcontainer features, ...)."""


@dataclass(frozen=True)
class AgentOptions:
    """How the agent runs: the settings that shape its command line and its container."""

    model: str
    max_turns: int
    allowed_tools: tuple[str, ...]
    max_cost_usd: float | None
    limits: Limits
    labels: dict[str, str]


class AgentSandbox:
    """One run's sandbox: the gateway while it is entered; the project's commands, the agent, the packer."""

    def __init__(self, engine: Callable[[], Engine], cli: AgentCli, gateway: Gateway, state: StateDirs,
                 checkout: Checkout, options: AgentOptions, log: Log,
                 choose_image: Callable[[Engine], SandboxImage], check_key: Callable[[], str]) -> None:
        self._make_engine, self.cli, self.gateway, self.state = engine, cli, gateway, state
        self.checkout, self.options, self.log = checkout, options, log
        self._choose_image, self._check_key = choose_image, check_key
        self._engine: Engine | None = None
        self._image: SandboxImage | None = None
        self._cli_volume = ""
        self._early_packer: EarlyPacker | None = None

    @property
    def agent_title(self) -> str:
        return self.cli.title

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = self._make_engine()
        return self._engine

    @property
    def image(self) -> SandboxImage:
        if self._image is None:
            self._image = self._choose_image(self.engine)
        return self._image

    @property
    def action_image(self) -> str:
        return self.engine.own_image

    @property
    def usage(self) -> Usage:
        return self.gateway.ledger.usage()

    def preflight(self) -> None:
        """Reach the Docker engine and check the model key now, before any branch exists."""
        self.engine  # noqa: B018 (connects, or raises a SandboxError that says what to do)
        self.log.info(self._check_key())

    def __enter__(self) -> AgentSandbox:
        self.gateway.start()
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if self._early_packer is not None:
                self._early_packer.discard()
                self._early_packer = None
        finally:
            self.gateway.stop()

    def remove_leftovers(self) -> None:
        """Last, once the run has said how it ended: the containers a cancel killed (removing one can take
        long) and the CLI volume they used."""
        if self._engine is None:
            return
        for failure in self._engine.remove_killed():
            self.log.warning(failure)
        if self._cli_volume:
            self._engine.remove_volume(self._cli_volume)

    # -- commands --

    def run_command(self, command: str, timeout_s: float, on_line: Callable[[str], None]) -> StepResult:
        """A shell command of the project's (setup, tests), its output merged and streamed."""
        tail: deque[str] = deque(maxlen=STEP_TAIL)

        def line(text: str) -> None:
            tail.append(text[:500])
            on_line(text)

        spec = self._spec(["sh", "-c", "exec 2>&1\n" + command], {}, timeout_s)
        self._own_home()
        exit_ = self.engine.run(spec, line)
        return StepResult(command, exit_.exit_code, exit_.timed_out, tuple(tail))

    def run_agent(self, prompt: str, resume: str | None, timeout_s: float,
                  on_line: Callable[[str], None]) -> AgentRun:
        """The agent CLI on ``prompt``, to its end or a limit; ``on_line`` hears each log line.

        With ``resume``, the kept session continues; when the CLI cannot find it, a fresh
        session starts instead (the prompt carries the whole thread either way)."""
        run = self._run_agent(self._request(prompt, resume), timeout_s, on_line)
        if resume and run.cli.no_session:
            self.log.warning(f"could not resume session {resume}; starting a fresh session")
            run = self._run_agent(self._request(prompt, None), timeout_s, on_line)
        return run

    def restore_session(self, note: str | None) -> str | None:
        """Put a session kept by an earlier run into the agent's HOME; its id, or None."""
        session = self.cli.restore_session(self.state.home, note)
        give_to(self.state.home, *self.checkout.owner)
        return session

    def session_note(self, run: AgentRun) -> str | None:
        """The agent's session packed for the next run, or None."""
        return self.cli.session_note(self.state.home, str(self.checkout.path), run.session_id) if run.session_id \
            else None

    def _run_agent(self, request: LaunchRequest, timeout_s: float, on_line: Callable[[str], None]) -> AgentRun:
        launch = self.cli.launch(request)
        self._write_home(launch.files)
        transcript = self.cli.transcript(request.workspace)
        shown = LineBudget(LOG_LINES)
        with TranscriptFile(self.state.transcript) as record:
            def line(text: str) -> None:
                record.write(text)
                if self.log.is_debug() and shown.take():
                    self.log.debug(text)
                for words in transcript.feed(text):
                    if shown.take():
                        on_line(words)

            exit_ = self.engine.run(self._spec(launch.command, launch.env, timeout_s), line)
        if shown.over:
            self.log.warning(f"the agent's output had {shown.over:,} more lines than the log shows ({LOG_LINES:,}); "
                             "the transcript file keeps them")
        return AgentRun(self.cli.title, self.usage, exit_, transcript.result(exit_.stderr_tail), request.max_turns,
                        transcript_path=self._host_path(self.state.transcript))

    def _request(self, prompt: str, resume: str | None) -> LaunchRequest:
        options = self.options
        return LaunchRequest(prompt=prompt, model=options.model, max_turns=options.max_turns,
                             base_url=f"http://127.0.0.1:{FORWARD_PORT}", cli_dir=CLI_DIR, home=SANDBOX_HOME,
                             workspace=str(self.checkout.path), allowed_tools=options.allowed_tools,
                             max_cost_usd=options.max_cost_usd, resume=resume,
                             vendor_web_search=self.gateway.policy.mode == "open")

    # -- the packer --

    def ready_packer(self, base: str, since: float, caps: Caps) -> None:
        """Start the packer for `pack` now, in the background: it reads nothing until `pack` says so.
        Only a head start: when it cannot be had, `pack` starts the packer then."""
        if self._early_packer is not None:
            return
        request = PackRequest(base, since, caps)
        wait_s = WAIT_S + 4 * int(self.options.limits.timeout_s)  # a retry, repairs, their commands
        try:
            out = self._fresh_out()
            self._early_packer = EarlyPacker(
                lambda: self.engine.start(packer_spec(self._packer_place(out), request, wait_s)), request, out,
                self.checkout.owner)
        except OSError as error:
            self.log.warning(f"could not get the packer ready early ({error}); it starts once the agent is done")

    def pack(self, base: str, since: float, caps: Caps) -> Path:
        """The agent's change as data: ``change.bundle`` and ``manifest.json`` in the returned directory."""
        request = PackRequest(base, since, caps)
        early, self._early_packer = self._early_packer, None
        if early is not None and packed_early(early, request, self.state.pack, self.log.warning):
            return self.state.pack
        lines: deque[str] = deque(maxlen=20)
        out = self._fresh_out()
        check_packed(self.engine.run(packer_spec(self._packer_place(out), request), lines.append), lines)
        return out

    def _fresh_out(self) -> Path:
        """The packer's output directory, empty, the checkout owner's (the packer runs as them)."""
        out = self.state.pack
        if out.exists():
            shutil.rmtree(out)
        out.mkdir(parents=True)
        os.chown(out, *self.checkout.owner)
        return out

    def _packer_place(self, out: Path) -> PackerPlace:
        return PackerPlace(
            self.action_image, self._user(), self.checkout.path, self.checkout.index_path(),
            self.state.repository / "objects", out, self.options.limits.cpus, self.options.labels,
            (f"{PACKER_CHECKOUT}/.git",) if (self.checkout.path / ".git").is_dir() else ())

    # -- the container --

    def _spec(self, command: list[str], env: dict[str, str], timeout_s: float) -> ContainerSpec:
        proxy = f"http://127.0.0.1:{FORWARD_PORT}"
        environment = {
            **self.image.env,
            "HOME": SANDBOX_HOME, "HTTPS_PROXY": proxy, "HTTP_PROXY": proxy, "https_proxy": proxy,
            "http_proxy": proxy, "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost",
            "PYTHONDONTWRITEBYTECODE": "1", "CI": "true",
            **({"IS_SANDBOX": "1"} if self.checkout.owner[0] == 0 else {}),
            **env,
        }
        wrapped = [f"{CLI_DIR}/{FORWARDER}", str(FORWARD_PORT), f"{GATEWAY_DIR}/gateway.sock", "--", *command]
        workspace = str(self.checkout.path)
        mounts = [Mount(workspace, workspace), Mount(str(self.state.agent_git), f"{workspace}/.git"),
                  Mount(str(self.state.repository / "objects"), AGENT_OBJECTS, read_only=True),
                  Mount(str(self.state.home), SANDBOX_HOME),
                  Mount(str(self.state.gateway_socket.parent), GATEWAY_DIR, read_only=True)]
        if self.image.name != self.engine.toolchain_image:
            mounts.append(Mount(self._cli_volume_name(), CLI_DIR, read_only=True, volume=True))
        limits = Limits(**{**self.options.limits.__dict__, "timeout_s": timeout_s})
        # The forwarder is the container's init: its watchdog is then out of the agent's reach.
        return ContainerSpec(image=self.image.name, command=wrapped, user=self._user(), workdir=workspace,
                             env=environment, mounts=tuple(mounts), limits=limits, labels=self.options.labels,
                             init=False)

    def _cli_volume_name(self) -> str:
        """A project's own image gets the agent's CLI (with the Node.js Gemini CLI runs on) and the
        forwarder from the toolchain image, read-only; not the other agents' CLIs. One volume per run:
        another run on the engine may be using its own."""
        if not self._cli_volume:
            name = f"codeagent-cli-{self.cli.name}-{uuid.uuid4().hex[:12]}"
            self._cli_volume = self.engine.volume_from_image(self.engine.toolchain_image, CLI_DIR, name,
                                                             self.options.labels, entries=(FORWARDER, self.cli.name))
        return self._cli_volume

    def _user(self) -> str:
        return f"{self.checkout.owner[0]}:{self.checkout.owner[1]}"

    def _own_home(self) -> None:
        """HOME exists and is the agent's user's before the first command (setup installs into it)."""
        home = self.state.home
        if not home.is_dir() or home.stat().st_uid != self.checkout.owner[0]:
            home.mkdir(parents=True, exist_ok=True)
            os.chown(home, *self.checkout.owner)

    def _write_home(self, files: dict[str, str]) -> None:
        """The CLI's config files in its HOME, which is then handed to the agent's user."""
        home = self.state.home
        home.mkdir(parents=True, exist_ok=True)
        for relative, content in files.items():
            path = home / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            if path.is_symlink():
                path.unlink()
            path.write_text(content, encoding="utf-8")
        give_to(home, *self.checkout.owner)

    def _host_path(self, path: Path) -> str:
        try:
            return self.engine.host_path(str(path))
        except SandboxError:
            return str(path)
