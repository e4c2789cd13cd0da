"""Where load may go: the one rule, checked before Locust starts and again inside the locustfile.

Load (Locust runs, the HPA scale-out) goes only to
  1. loopback (127.0.0.0/8, ::1): a NodePort mapped to this host;
  2. an address of a cluster deployproof created and owns here (a kind node container, the minikube node,
     the embedded node's own interface): the provider names them (Provider.own_addresses);
  3. a host or network the user named with --allow-load-to HOST|CIDR[,…].
Anything else is refused before a single request is sent, naming the address, this rule and the fix: a
load test pointed at somebody's production Ingress by a stray --app-url must not run.

A host name counts by what it resolves to, every address of it (the load client may use any), unless the
user named that very host. The locustfile re-checks its --host with the same rule (the policy travels in
the environment, LOAD_TARGETS_ENV), so a Locust started by hand with another host stops before its first user.
"""

from __future__ import annotations

import ipaddress
import json
import socket
from dataclasses import dataclass
from typing import Callable, Iterable, Mapping
from urllib.parse import urlsplit

from ..errors import DeployProofError

LOAD_TARGETS_ENV = "DEPLOYPROOF_LOAD_TARGETS"
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class LoadRefused(DeployProofError):
    """A load run aimed at an address the rule does not allow; nothing was sent."""


def resolve(host: str) -> list[str]:
    """Every address `host` resolves to (a literal address: itself)."""
    infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    return list(dict.fromkeys(str(info[4][0]).split("%", 1)[0] for info in infos))


def _address(text: str) -> IPAddress:
    address = ipaddress.ip_address(text)
    # ::ffff:127.0.0.1 is IPv4 loopback reached over an IPv6 socket: judge the IPv4 address.
    return address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped else address


@dataclass(frozen=True)
class LoadTargets:
    """The rule's two lists besides loopback: `own` addresses (of clusters deployproof created) and what the user
    `allowed` (host names and CIDRs, as settings.allow_load_to normalizes them)."""

    own: tuple[str, ...] = ()
    allowed: tuple[str, ...] = ()

    @classmethod
    def of(cls, provider, allow_load_to: Iterable[str] = ()) -> LoadTargets:
        """The rule for a run on `provider` with --allow-load-to `allow_load_to`."""
        return cls(tuple(provider.own_addresses()), tuple(allow_load_to))

    def _networks(self) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        networks = []
        for item in self.allowed:
            try:
                networks.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                continue  # a host name
        return networks

    def _allowed_hosts(self) -> set[str]:
        hosts: set[str] = set()
        for item in self.allowed:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                hosts.add(item.lower().rstrip("."))
        return hosts

    def why_allowed(self, address: str) -> str | None:
        """Which part of the rule admits `address`, or None."""
        judged = _address(address)
        if judged.is_loopback:
            return "loopback"
        if any(_address(own) == judged for own in self.own if _is_address(own)):
            return "a node of a cluster deployproof created"
        for network in self._networks():
            if judged.version == network.version and judged in network:
                return f"--allow-load-to {network}"
        return None

    def check(self, url: str, resolver: Callable[[str], list[str]] = resolve) -> str:
        """Return why load may go to `url`; raise LoadRefused (naming the address, the rule and the fix) if not."""
        host = (urlsplit(url).hostname or "").lower().rstrip(".")
        if not host:
            raise LoadRefused(f"refusing to put load on {url!r}: it names no host", "give the load run an http(s)://HOST:PORT URL")
        if host in self._allowed_hosts():
            return f"--allow-load-to {host}"
        try:
            addresses = [host] if _is_address(host) else resolver(host)
        except OSError as exc:
            raise LoadRefused(f"refusing to put load on {url}: {host} does not resolve ({exc})",
                              f"check the name, or pass --allow-load-to {host} if it is yours to load") from None
        reasons = {address: self.why_allowed(address) for address in addresses}
        refused = [address for address, why in reasons.items() if why is None]
        if refused or not addresses:
            raise LoadRefused(self._refusal(url, host, refused or addresses), self._fix(host, refused or addresses))
        return ", ".join(sorted(set(filter(None, reasons.values()))))

    def _refusal(self, url: str, host: str, refused: list[str]) -> str:
        where = ", ".join(refused)
        subject = where if host in refused else f"{host} (resolves to {where})"
        own = ", ".join(self.own) or "none on this provider"
        allowed = ", ".join(self.allowed) or "nothing given"
        return (f"refusing to put load on {url}: {subject} is not loopback, not a node of a cluster deployproof created "
                f"({own}), and not named by --allow-load-to ({allowed}). Load goes only to loopback, to what "
                "deployproof created, or to hosts and networks you name")

    @staticmethod
    def _fix(host: str, refused: list[str]) -> str:
        first = _address(refused[0]) if refused and _is_address(refused[0]) else None
        network = f" or a network such as {ipaddress.ip_network(f'{first}/{24 if first.version == 4 else 64}', strict=False)}" if first else ""
        return (f"if {host} is yours to put load on, pass --allow-load-to {host}{network} "
                "(env DEPLOYPROOF_ALLOW_LOAD_TO); otherwise point the run at a cluster you own (--app-url, --cluster-provider)")

    def to_env(self) -> dict[str, str]:
        return {LOAD_TARGETS_ENV: json.dumps({"own": list(self.own), "allowed": list(self.allowed)})}

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> LoadTargets:
        """The rule handed down by the parent (LoadRun); without it, loopback only."""
        raw = environ.get(LOAD_TARGETS_ENV, "")
        if not raw:
            return cls()
        data = json.loads(raw)
        return cls(tuple(data.get("own", ())), tuple(data.get("allowed", ())))


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True
