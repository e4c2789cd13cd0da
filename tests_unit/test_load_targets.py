"""Where load may go (deployproof/load/targets.py): loopback, the nodes of a cluster deployproof created, and what
--allow-load-to names; anything else refused with the address, the rule and the fix. No network: names resolve
through a stand-in resolver, and providers are stand-ins."""

from __future__ import annotations

import pytest

from deployproof.load.targets import LoadRefused, LoadTargets, resolve
from deployproof.providers.base import Provider
from deployproof.settings import Settings

DNS = {
    "localhost": ["127.0.0.1", "::1"],
    "todo.internal": ["10.1.2.3"],
    "split.example.test": ["10.1.2.3", "203.0.113.7"],  # one address allowed, one not
    "kind-node.test": ["172.18.0.3"],
    "mapped.test": ["::ffff:127.0.0.1"],
}


def resolver(host: str) -> list[str]:
    if host not in DNS:
        raise OSError(f"[Errno -2] Name or service not known: {host}")
    return DNS[host]


def rule(allow: str = "", own: tuple[str, ...] = ()) -> LoadTargets:
    """The rule as a run builds it: --allow-load-to parsed by the settings, `own` from the provider."""
    return LoadTargets(own, Settings.load({"allow_load_to": allow}, env={}).allow_load_to)


@pytest.mark.parametrize("url", ["http://127.0.0.1:30080", "http://127.9.9.9:30080", "http://[::1]:30080", "http://localhost:30080",
                                 "http://LOCALHOST:30080", "http://mapped.test:30080", "http://[::ffff:127.0.0.1]:30080"])
def test_ipv4_and_ipv6_loopback_are_allowed_without_any_opt_in(url):
    assert rule().check(url, resolver) == "loopback"


@pytest.mark.parametrize("url", ["http://10.99.0.1:30080", "http://0.0.0.0:30080", "http://[::]:30080", "http://[fd00::1]:30080",
                                 "http://todo.internal:30080", "https://203.0.113.7"])
def test_everything_else_is_refused_by_default(url):
    with pytest.raises(LoadRefused):
        rule().check(url, resolver)


def test_the_nodes_of_a_cluster_we_created_are_allowed_and_nothing_beside_them():
    ours = rule(own=("172.18.0.3", "fc00:f853:ccd:e793::3"))
    assert ours.check("http://172.18.0.3:30080", resolver) == "a node of a cluster deployproof created"
    assert ours.check("http://[fc00:f853:ccd:e793::3]:30080", resolver) == "a node of a cluster deployproof created"
    assert ours.check("http://kind-node.test:30080", resolver) == "a node of a cluster deployproof created"  # by what it resolves to
    with pytest.raises(LoadRefused):
        ours.check("http://172.18.0.4:30080", resolver)  # the neighbour on the same docker network is not ours


def test_cidrs_admit_their_addresses_only_and_ipv4_never_matches_an_ipv6_network():
    networks = rule("10.0.0.0/8,fd00::/8")
    assert networks.check("http://10.255.0.1:30080", resolver) == "--allow-load-to 10.0.0.0/8"
    assert networks.check("http://todo.internal", resolver) == "--allow-load-to 10.0.0.0/8"
    assert networks.check("http://[fd00::5]:80", resolver) == "--allow-load-to fd00::/8"
    for url in ("http://11.0.0.1", "http://[fe80::1]", "http://[::ffff:10.0.0.1]"):
        if url == "http://[::ffff:10.0.0.1]":
            assert networks.check(url, resolver) == "--allow-load-to 10.0.0.0/8"  # an IPv4-mapped address is judged as IPv4
            continue
        with pytest.raises(LoadRefused):
            networks.check(url, resolver)


def test_a_single_address_opt_in_is_exactly_that_address():
    one = rule("203.0.113.7")
    assert one.check("https://203.0.113.7:8443", resolver) == "--allow-load-to 203.0.113.7/32"
    with pytest.raises(LoadRefused):
        one.check("https://203.0.113.8", resolver)


def test_a_named_host_is_allowed_by_its_name_whatever_it_resolves_to():
    named = rule("Split.Example.Test")
    assert named.check("http://split.example.test:30080", lambda host: pytest.fail("a named host needs no lookup")) == \
        "--allow-load-to split.example.test"


def test_a_host_name_counts_by_every_address_it_resolves_to():
    partly = rule("10.0.0.0/8")
    with pytest.raises(LoadRefused) as refused:
        partly.check("http://split.example.test:30080", resolver)
    assert "split.example.test (resolves to 203.0.113.7)" in refused.value.cause  # the one address that is not allowed


def test_a_name_that_does_not_resolve_is_refused_saying_so():
    with pytest.raises(LoadRefused) as refused:
        rule().check("http://nowhere.test:30080", resolver)
    assert "nowhere.test does not resolve" in refused.value.cause
    assert "--allow-load-to nowhere.test" in refused.value.fix


def test_a_url_without_a_host_is_refused():
    with pytest.raises(LoadRefused, match="names no host"):
        rule().check("http:///tasks", resolver)


def test_the_refusal_names_the_address_the_rule_and_the_fix():
    with pytest.raises(LoadRefused) as refused:
        rule("192.168.0.0/16", own=("172.18.0.2",)).check("http://10.99.0.1:30080", resolver)
    cause, fix = refused.value.cause, refused.value.fix
    assert cause.startswith("refusing to put load on http://10.99.0.1:30080: 10.99.0.1 is not loopback")
    assert "not a node of a cluster deployproof created (172.18.0.2)" in cause
    assert "not named by --allow-load-to (192.168.0.0/16)" in cause
    assert "Load goes only to loopback, to what deployproof created, or to hosts and networks you name" in cause
    assert "--allow-load-to 10.99.0.1 or a network such as 10.99.0.0/24" in fix and "DEPLOYPROOF_ALLOW_LOAD_TO" in fix
    with pytest.raises(LoadRefused) as refused:
        rule().check("http://[fd00::1]:30080", resolver)
    assert "none on this provider" in refused.value.cause and "nothing given" in refused.value.cause
    assert "fd00::/64" in refused.value.fix


def test_the_rule_travels_to_the_locustfile_through_the_environment():
    targets = rule("todo.internal,10.0.0.0/8", own=("172.18.0.2",))
    assert LoadTargets.from_env(targets.to_env()) == targets
    assert LoadTargets.from_env({}) == LoadTargets()  # no rule handed down: loopback only


class _Provider(Provider):
    name = "stand-in"

    def __init__(self, own: list[str]) -> None:
        self.own = own

    def own_addresses(self):
        return self.own

    up = down = kubeconfig = context = load_images = node_port_url = collect_diagnostics = describe = lambda *a: None


def test_the_provider_says_which_addresses_are_its_own():
    targets = LoadTargets.of(_Provider(["10.99.0.1"]), ("10.0.0.0/8",))
    assert targets == LoadTargets(("10.99.0.1",), ("10.0.0.0/8",))
    assert targets.check("http://10.99.0.1:30080", resolver) == "a node of a cluster deployproof created"


def test_the_real_resolver_resolves_localhost_and_literal_addresses():
    assert "127.0.0.1" in resolve("127.0.0.1")
    assert set(resolve("localhost")) & {"127.0.0.1", "::1"}
