"""Root conftest: loads the fixture modules of fixtures/ (the thin pytest layer over deployproof).

Options, markers and the success-criteria report come from the deployproof pytest
plugin (pytest11 entry point); every fixture here can be overridden in a test module.
"""

pytest_plugins = [
    "fixtures.cluster",
    "fixtures.workloads",
    "fixtures.release",
    "fixtures.app",
    "fixtures.resilience",
]
