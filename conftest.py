"""Root conftest: loads the fixture modules of fixtures/ (the thin pytest layer over deployproof).

Options, markers and the success-criteria report come from the deployproof pytest
plugin (pytest11 entry point); every fixture here can be overridden in a test module.
"""

pytest_plugins = [
    "pytester",  # the plugin's own tests run real pytest sessions on generated test files
    "fixtures.cluster",
    "fixtures.workloads",
    "fixtures.release",
    "fixtures.app",
    "fixtures.resilience",
    "fixtures.hardening",
    "fixtures.nodeloss",
    "fixtures.netpol",
]
