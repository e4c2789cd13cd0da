"""Is each AI tool here, and does it have a model? Gordon (`docker ai`), kubectl-ai, kagent.

Detection never calls a model: it looks at PATH, Docker's CLI plugin folders, the tools'
own config files, the model providers' environment variables and (kagent) the cluster.
`environ`, `path` and `home` are parameters so tests can build a fake machine.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

import yaml

from ..runner import run

# kubectl-ai's providers and the variable that carries each one's credentials/endpoint.
KUBECTL_AI_PROVIDERS = {
    "gemini": "GEMINI_API_KEY",
    "openai": "OPENAI_API_KEY",
    "anthropic": "ANTHROPIC_API_KEY",
    "azopenai": "AZURE_OPENAI_API_KEY",
    "grok": "GROK_API_KEY",
    "vertexai": "GOOGLE_CLOUD_PROJECT",
    "ollama": "OLLAMA_HOST",
    "llamacpp": "LLAMACPP_HOST",
}
DOCKER_PLUGIN_DIRS = ("/usr/local/lib/docker/cli-plugins", "/usr/local/libexec/docker/cli-plugins",
                      "/usr/lib/docker/cli-plugins", "/usr/libexec/docker/cli-plugins")
KAGENT_NAMESPACE = "kagent"
KAGENT_GROUP = "kagent.dev"


@dataclass
class Detection:
    tool: str  # gordon | kubectl-ai | kagent
    installed: bool
    binary: str = ""
    model: str = ""  # which model/provider is configured, and where that was found
    usable: bool = False  # installed and a model configured: the real tool runs
    why_not: str = ""  # when not usable: what is missing and how to enable it
    settings: dict | None = None  # what the runner passes on (provider, model, url …)

    def as_dict(self) -> dict:
        return asdict(self)


def _which(name: str, path: str | None) -> str:
    return shutil.which(name, path=path) or ""


def detect_gordon(*, environ: Mapping[str, str] | None = None, path: str | None = None, home: Path | None = None,
                  probe: Callable[[str], str] | None = None) -> Detection:
    """Gordon is Docker Desktop's `docker ai` CLI plugin; its model is Docker's, enabled in Docker Desktop."""
    environ = os.environ if environ is None else environ
    home = Path(environ.get("HOME", str(Path.home()))) if home is None else home
    docker = _which("docker", path)
    if not docker:
        return Detection("gordon", False, why_not="no docker CLI on PATH; Gordon ships with Docker Desktop (Settings → Beta/AI → enable Ask Gordon)")
    config = Path(environ.get("DOCKER_CONFIG", str(home / ".docker")))
    plugin_dirs = [config / "cli-plugins", *map(Path, DOCKER_PLUGIN_DIRS)]
    plugin = next((d / "docker-ai" for d in plugin_dirs if (d / "docker-ai").exists()), None)
    if plugin is None:
        return Detection("gordon", False, docker, why_not="docker has no `ai` plugin (docker-ai in the CLI plugin folders); "
                                                          "install Docker Desktop ≥ 4.38 and enable Ask Gordon")
    # The plugin's own help names the command; without the plugin docker prints its general usage instead.
    probe = probe or (lambda exe: _help(exe, "ai"))
    help_text = probe(docker)
    if "docker ai" not in help_text:
        return Detection("gordon", False, str(plugin), why_not="`docker ai --help` does not answer as Gordon; enable Ask Gordon in Docker Desktop")
    return Detection("gordon", True, str(plugin), model="Docker's hosted model (Docker Desktop sign-in)", usable=True,
                     settings={"docker": docker})


def _help(exe: str, *args: str) -> str:
    proc = run([exe, *args, "--help"], check=False, quiet=True, timeout=20)
    return proc.stdout + proc.stderr


def detect_kubectl_ai(*, environ: Mapping[str, str] | None = None, path: str | None = None, home: Path | None = None) -> Detection:
    """kubectl-ai on PATH, and a provider: its config file's llmProvider, else the first provider whose variable is set."""
    environ = os.environ if environ is None else environ
    home = Path(environ.get("HOME", str(Path.home()))) if home is None else home
    binary = _which("kubectl-ai", path)
    if not binary:
        return Detection("kubectl-ai", False, why_not="kubectl-ai is not on PATH; install it (release binary or `kubectl krew install ai`) "
                                                      "and set a model key, e.g. GEMINI_API_KEY or OPENAI_API_KEY")
    config_home = Path(environ.get("XDG_CONFIG_HOME", str(home / ".config")))
    config_file = config_home / "kubectl-ai" / "config.yaml"
    config: dict[str, Any] = {}
    if config_file.exists():
        config = yaml.safe_load(config_file.read_text()) or {}
    provider = environ.get("DEPLOYPROOF_KUBECTL_AI_PROVIDER") or config.get("llmProvider") or ""
    model = environ.get("DEPLOYPROOF_KUBECTL_AI_MODEL") or config.get("model") or ""
    if not provider:
        provider = next((p for p, var in KUBECTL_AI_PROVIDERS.items() if environ.get(var)), "")
    if not provider:
        return Detection("kubectl-ai", True, binary, why_not="no model configured: set GEMINI_API_KEY (kubectl-ai's default provider), "
                                                             "or OPENAI_API_KEY/ANTHROPIC_API_KEY…, or llmProvider in " + str(config_file))
    variable = KUBECTL_AI_PROVIDERS.get(provider, "")
    if variable and not environ.get(variable) and provider not in ("ollama", "llamacpp"):
        return Detection("kubectl-ai", True, binary, model=provider,
                         why_not=f"provider {provider} is chosen but {variable} is not set")
    if provider == "openai" and not model:
        model = environ.get("OPENAI_MODEL", "")
    source = "config " + str(config_file) if config.get("llmProvider") else (variable or "DEPLOYPROOF_KUBECTL_AI_PROVIDER")
    return Detection("kubectl-ai", True, binary, model=f"{provider}{'/' + model if model else ''} (from {source})", usable=True,
                     settings={"provider": provider, "model": model})


def detect_kagent(*, environ: Mapping[str, str] | None = None, path: str | None = None, custom_api: Any = None) -> Detection:
    """kagent's CLI on PATH, and kagent installed in the cluster with a ModelConfig and its k8s-agent."""
    environ = os.environ if environ is None else environ
    binary = _which("kagent", path)
    if not binary:
        return Detection("kagent", False, why_not="the kagent CLI is not on PATH; install it, then `kagent install` into the cluster "
                                                  "with a model provider key (OPENAI_API_KEY …)")
    if custom_api is None:
        return Detection("kagent", True, binary, why_not="no cluster to look for kagent in")
    namespace = environ.get("KAGENT_NAMESPACE", KAGENT_NAMESPACE)
    try:
        models = custom_api.list_namespaced_custom_object(KAGENT_GROUP, "v1alpha2", namespace, "modelconfigs").get("items", [])
        agents = custom_api.list_namespaced_custom_object(KAGENT_GROUP, "v1alpha2", namespace, "agents").get("items", [])
    except Exception as exc:  # noqa: BLE001 - a 404 means the CRDs are not installed: kagent is not in this cluster
        return Detection("kagent", True, binary, why_not=f"kagent is not installed in the cluster ({type(exc).__name__}); run `kagent install`")
    if not models:
        return Detection("kagent", True, binary, why_not=f"no ModelConfig in namespace {namespace}; configure a model provider for kagent")
    agent_names = [a["metadata"]["name"] for a in agents]
    agent = environ.get("DEPLOYPROOF_KAGENT_AGENT", "k8s-agent")
    if agent not in agent_names:
        return Detection("kagent", True, binary, why_not=f"no agent {agent} in namespace {namespace} (found: {', '.join(agent_names) or 'none'})")
    model = models[0]
    spec = model.get("spec", {})
    return Detection("kagent", True, binary, model=f"ModelConfig {namespace}/{model['metadata']['name']}: "
                                                   f"{spec.get('provider', '?')}/{spec.get('model', '?')}", usable=True,
                     settings={"namespace": namespace, "agent": agent, "url": environ.get("KAGENT_URL", "")})


def detect_all(*, custom_api: Any = None) -> dict[str, Detection]:
    return {"gordon": detect_gordon(), "kubectl-ai": detect_kubectl_ai(), "kagent": detect_kagent(custom_api=custom_api)}
