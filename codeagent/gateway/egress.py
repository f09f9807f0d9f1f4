"""Which hosts the sandbox may reach through the gateway's HTTP(S) proxy.

Three modes (input `network`): `none` (no host at all), `registries` (the common package
registries, the default) and `open` (any public host); `allowed-domains` adds hosts, with
`*.example.com` wildcards. In every mode the gateway resolves the name itself, refuses IP
literals and any name that resolves to an address that is not public (loopback, private,
link-local such as the cloud metadata service, the Docker bridge), and connects to the address
it checked, so a name cannot be re-resolved to somewhere else (DNS rebinding).
"""

from __future__ import annotations

import fnmatch
import ipaddress
import socket
from dataclasses import dataclass, field
from typing import Callable, Literal

NetworkMode = Literal["none", "registries", "open"]

REGISTRIES = (
    # Python
    "pypi.org", "files.pythonhosted.org",
    # JavaScript (npm, yarn, pnpm via corepack)
    "registry.npmjs.org", "registry.yarnpkg.com", "repo.yarnpkg.com",
    # Go
    "proxy.golang.org", "sum.golang.org",
    # Rust
    "crates.io", "index.crates.io", "static.crates.io",
    # Java
    "repo.maven.apache.org", "repo1.maven.org", "plugins.gradle.org",
    # Ruby
    "rubygems.org", "index.rubygems.org",
    # .NET
    "api.nuget.org",
    # Debian and Ubuntu packages
    "deb.debian.org", "security.debian.org", "archive.ubuntu.com", "security.ubuntu.com", "ports.ubuntu.com",
)
"""The hosts `network: registries` allows (listed in the README)."""

PORTS = (80, 443)
"""Ports a public host may be reached on: HTTP and HTTPS."""


class Refused(Exception):
    """The proxy will not connect; the message says why, for the agent and the report."""


@dataclass(frozen=True)
class EgressPolicy:
    """Where the sandbox may connect, and how names are resolved."""

    mode: NetworkMode = "registries"
    allowed_domains: tuple[str, ...] = ()
    """Extra host patterns (``pkg.example.com``, ``*.example.com``), in every mode but `none`."""
    pinned: dict[str, tuple[str, int]] = field(default_factory=dict)
    """Names answered by the runner's environment instead of DNS (the bench's stand-in registry):
    ``name -> (address, port)``; only these may resolve to a non-public address."""
    resolve: Callable[[str, int], list[str]] | None = field(default=None, repr=False)
    """How names are resolved (DNS by default; tests give their own)."""

    def allows_name(self, host: str) -> bool:
        """Whether ``host`` (a name, lower-case) is one the policy lets through, before resolving."""
        if self.mode == "none":
            return False
        patterns = (*(REGISTRIES if self.mode == "registries" else ()), *self.allowed_domains)
        return self.mode == "open" or any(_matches(host, pattern) for pattern in patterns)

    def destination(self, host: str, port: int) -> tuple[str, int]:
        """The checked address to connect to for ``host:port``; raises `Refused` with the reason."""
        host = host.strip().rstrip(".").lower()
        if _is_ip_literal(host):
            raise Refused(f"{host}: IP addresses are not allowed, only host names; use the host's name (and add it "
                          "to `allowed-domains` if the project needs it)")
        if not self.allows_name(host):
            raise Refused(f"{host} is not in the allowlist (network: {self.mode}); add it to the action's "
                          "`allowed-domains` input if the project needs it")
        if host in self.pinned:
            return self.pinned[host]
        if port not in PORTS:
            raise Refused(f"{host}:{port}: only ports 80 and 443 are allowed; use the host's HTTP(S) address")
        addresses = (self.resolve or _resolve)(host, port)
        if not addresses:
            raise Refused(f"{host} does not resolve; check the name")
        private = [a for a in addresses if not _is_public(a)]
        if private:
            raise Refused(f"{host} resolves to a non-public address ({private[0]}), which the sandbox may never "
                          "reach; use a public host")
        return addresses[0], port


def _matches(host: str, pattern: str) -> bool:
    pattern = pattern.strip().lower().rstrip(".")
    if pattern.startswith("*."):
        return host.endswith(pattern[1:]) or fnmatch.fnmatchcase(host, pattern)
    return host == pattern


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
        return True
    except ValueError:
        return False


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def _resolve(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        return []
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def pinned_hosts(spec: str) -> dict[str, tuple[str, int]]:
    """``name=address:port`` pairs, comma separated (`CODEAGENT_GATEWAY_HOSTS` of the runner's environment)."""
    pinned = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        name, _, target = item.partition("=")
        address, _, port = target.rpartition(":")
        if not name or not address or not port.isdigit():
            raise ValueError(f"`{item}` is not of the form name=address:port")
        pinned[name.strip().lower()] = (address.strip("[]"), int(port))
    return pinned
