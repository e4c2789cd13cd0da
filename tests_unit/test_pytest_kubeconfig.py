"""`pytest --kubeconfig PATH` reaches the settings: the option is pytest-helm-charts' (from KUBECONFIG), read by its dest.

Found on a live run: the existing provider said "needs a kubeconfig" although --kubeconfig was given, because
the plugin read the option under another dest.
"""

from __future__ import annotations

import textwrap

import pytest


def test_the_kubeconfig_option_reaches_the_settings(pytester: pytest.Pytester, monkeypatch):
    monkeypatch.delenv("KUBECONFIG", raising=False)
    kubeconfig = pytester.path / "cluster.kubeconfig"
    kubeconfig.write_text("apiVersion: v1\nkind: Config\n")
    pytester.makepyfile(test_settings_seen=textwrap.dedent("""
        from deployproof.pytest_plugin import SETTINGS_KEY

        def test_seen(request):
            settings = request.config.stash[SETTINGS_KEY]
            assert str(settings.kubeconfig).endswith("cluster.kubeconfig"), settings.kubeconfig
            assert settings.kube_context == "kind-deployproof"
    """))
    result = pytester.runpytest_subprocess("--cluster-provider", "existing", "--kubeconfig", str(kubeconfig),
                                           "--kube-context", "kind-deployproof", "-p", "no:cacheprovider")
    assert result.ret == 0, result.stdout.str() + result.stderr.str()
    result.assert_outcomes(passed=1)
