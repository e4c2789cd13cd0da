"""AI-assisted operations (SC-4): Gordon, kubectl-ai and kagent when present, real analyzers when not.

- detect       — is each tool installed, and is a model configured (PATH, plugins, config files, env, cluster)
- assistants   — ask the real tools in advisory (read-only) mode, with a timeout, through the runner
- toolcache    — install on demand: checkov (own venv), kube-score (go install), kubectl-ai (built, pinned)
- standin      — the local stand-in model kubectl-ai talks to when no model is configured (scripted, loopback)
- analyzers    — checkov on dockerfiles/ and the rendered chart; kube-score on the rendered chart
- severity     — one severity scale over the analyzers' check ids
- diagnose     — failure diagnosis from a diagnostics folder (which pod, which reason, which fix)
- rightsizing  — metrics sampler (a context manager around any load) and the requests/limits/HPA advisor
- acceptance   — aiops-accepted.yaml: accepted findings, each with a reason
- advisors     — each tool with its fallback, recorded as "used" or "fallback ran"
- record       — aiops-report.json and .md, and the gate (unaccepted HIGH findings in our images and charts)
- tables       — kubectl's text tables read back into rows
"""
