"""deployproof: build, deploy and prove the Todo AI Chatbot on Kubernetes.

Layer 4 of shared/DESIGN.md: clusters (providers), images, releases, waits,
diagnostics, load, chaos and the success-criteria report. The pytest layer
(conftest.py, fixtures/) and the CLI are thin wrappers over this package.
"""

__version__ = "0.1.0"
