"""A local stand-in for kubectl-ai's model: an OpenAI-compatible chat-completions endpoint on 127.0.0.1, scripted.

SC-4 runs the real kubectl-ai (versions.KUBECTL_AI) with `--llm-provider openai` and OPENAI_ENDPOINT set to
this endpoint. kubectl-ai sends the whole conversation and its tools with every turn (POST
/v1/chat/completions, streamed as server-sent events); the script answers as a model that calls tools would:
first a `kubectl` call for the namespace's pods, then one for its Deployments and StatefulSets, then a final
answer written from what those calls returned. The stand-in knows the namespace and nothing else: every pod
name, readiness and restart count, waiting reason and replica count in the answer came from the cluster
through kubectl-ai's own kubectl tool, so a broken deployment changes the answer. It is not a language model,
and the report says so (DESCRIPTION).

Loopback only, a fresh bearer key per run (kubectl-ai sends OPENAI_API_KEY), every request kept in
`exchanges` for the report. `unreported_facts` holds an answer against the API's own reading of the pods.
"""

from __future__ import annotations

import json
import secrets
import shlex
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .diagnose import live_pod_troubles

MODEL = "deployproof-stand-in"
DESCRIPTION = "local stand-in model: a scripted OpenAI-compatible endpoint on 127.0.0.1, not a language model"
KUBECTL_TOOL = "kubectl"
CALL_PREFIX = "deployproof-call-"
# A waiting reason (or our own trouble names, as in diagnose.live_pod_troubles) → the most likely fix.
FIXES = {
    "ErrImagePull": "the image cannot be pulled: check its name and tag, and that the node can reach the registry",
    "ImagePullBackOff": "the image cannot be pulled: check its name and tag, and that the node can reach the registry",
    "ErrImageNeverPull": "the image is not on the node and imagePullPolicy is Never: load the image into the node",
    "InvalidImageName": "the image reference is malformed: fix the image name in the chart values",
    "CrashLoopBackOff": "the container keeps exiting: read `kubectl logs --previous` for its last error",
    "CreateContainerConfigError": "a referenced Secret or ConfigMap key is missing: create it or fix the reference",
    "Pending": "not scheduled: `kubectl describe pod` names the reason (resources, node selector, volume claim)",
    "Restarted": "it restarted: read `kubectl logs --previous` for why the last container ended",
    "NotReady": "its readiness probe fails: `kubectl describe pod` shows the probe's last answer",
}


@dataclass(frozen=True)
class ToolCall:
    id: str
    command: str

    @property
    def arguments(self) -> str:
        return json.dumps({"command": self.command, "modifies_resource": "no"})


@dataclass(frozen=True)
class Reply:
    """What the stand-in says in one turn: a kubectl tool call, or the final text."""

    call: ToolCall | None = None
    text: str = ""


@dataclass(frozen=True)
class PodFact:
    name: str
    phase: str
    ready: int
    containers: int
    restarts: int
    waiting: str  # the first waiting reason, "" when none
    finished: bool  # Succeeded, or being deleted: history, not trouble
    pod_ready: bool  # the pod's Ready condition

    @property
    def trouble(self) -> str:
        """The same reading as diagnose.live_pod_troubles, from kubectl's JSON instead of the client's objects."""
        if self.finished:
            return ""
        if self.waiting:
            return self.waiting
        if self.phase == "Pending":
            return "Pending"
        if self.restarts:
            return "Restarted"
        return "" if self.pod_ready else "NotReady"

    def line(self) -> str:
        waiting = f", waiting: {self.waiting}" if self.waiting else ""
        return f"- {self.name}: {self.phase}, ready {self.ready}/{self.containers}, restarts {self.restarts}{waiting}"


def pod_fact(pod: dict[str, Any]) -> PodFact:
    status, meta = pod.get("status") or {}, pod.get("metadata") or {}
    containers = status.get("containerStatuses") or []
    waiting = [s["state"]["waiting"].get("reason", "") for s in containers if (s.get("state") or {}).get("waiting")]
    waiting = [w for w in waiting if w and w not in ("ContainerCreating", "PodInitializing")]
    phase = status.get("phase", "Unknown")
    declared = len((pod.get("spec") or {}).get("containers") or []) or len(containers)
    pod_ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or [])
    return PodFact(meta.get("name", "?"), phase, sum(bool(s.get("ready")) for s in containers), declared,
                   sum(int(s.get("restartCount") or 0) for s in containers), waiting[0] if waiting else "",
                   phase == "Succeeded" or bool(meta.get("deletionTimestamp")), pod_ready)


def workload_line(obj: dict[str, Any]) -> str:
    status = obj.get("status") or {}
    desired = (obj.get("spec") or {}).get("replicas", 1)
    return f"- {obj.get('kind', '?')}/{obj['metadata']['name']}: {status.get('readyReplicas', 0)}/{desired} replicas ready"


def _text_of(content: Any) -> str:
    """A message's content: a string, or a list of parts (the API allows both)."""
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return content or ""


def tool_results(messages: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Our tool calls' results in the conversation: call id → kubectl-ai's result (command, stdout, stderr, error …)."""
    found: dict[str, dict[str, Any]] = {}
    for message in messages:
        call_id = message.get("tool_call_id") or ""
        if message.get("role") == "tool" and call_id.startswith(CALL_PREFIX):
            try:
                found[call_id] = json.loads(_text_of(message.get("content")))
            except ValueError:
                found[call_id] = {"error": "the tool result was not JSON", "stdout": _text_of(message.get("content"))}
    return found


def _items(result: dict[str, Any], command: str) -> tuple[list[dict[str, Any]], str]:
    """The objects a `kubectl get … -o json` result carries, or why there are none."""
    if result.get("error") or result.get("exit_code") or not result.get("stdout"):
        why = result.get("error") or (result.get("stderr") or "").strip() or "no output"
        return [], f"`{command}` failed: {why[:300]}"
    try:
        return json.loads(result["stdout"]).get("items") or [], ""
    except ValueError:
        return [], f"`{command}` did not print JSON"


@dataclass
class DiagnosisScript:
    """The scripted turns for "diagnose namespace N": one kubectl call per turn, then the answer."""

    namespace: str
    facts: list[PodFact] = field(default_factory=list)  # what the last answer reported

    @property
    def commands(self) -> tuple[str, ...]:
        ns = shlex.quote(self.namespace)
        return (f"kubectl get pods --namespace {ns} --output json",
                f"kubectl get deployments,statefulsets --namespace {ns} --output json")

    def reply(self, request: dict[str, Any]) -> Reply:
        offered = sorted(t.get("function", {}).get("name", "") for t in request.get("tools") or [] if isinstance(t, dict))
        if KUBECTL_TOOL not in offered:
            return Reply(text=f"I cannot look at the cluster: the request offered no `{KUBECTL_TOOL}` tool (offered: {offered}).")
        results = tool_results(request.get("messages") or [])
        for step, command in enumerate(self.commands, start=1):
            if f"{CALL_PREFIX}{step}" not in results:
                return Reply(call=ToolCall(f"{CALL_PREFIX}{step}", command))
        return Reply(text=self.answer([results[f"{CALL_PREFIX}{n}"] for n in range(1, len(self.commands) + 1)]))

    def answer(self, results: list[dict[str, Any]]) -> str:
        pods, pods_error = _items(results[0], self.commands[0])
        workloads, workloads_error = _items(results[1], self.commands[1])
        self.facts = [pod_fact(p) for p in pods]
        troubled = [f for f in self.facts if f.trouble]
        live = [f for f in self.facts if not f.finished]
        lines = [f"Namespace {self.namespace}: {len(live)} pods, {len(troubled)} not Running and Ready."]
        lines += [e for e in (pods_error, workloads_error) if e]
        lines += ["", "Pods:", *(f.line() for f in self.facts)] if self.facts else []
        lines += ["", "Workloads:", *(workload_line(w) for w in workloads)] if workloads else []
        lines.append("")
        if troubled:
            lines.append("Not Running and Ready, with the most likely fix:")
            lines += [f"- {f.name}: {f.trouble}: {FIXES.get(f.trouble, '`kubectl describe pod` and its events say more')}"
                      for f in troubled]
        elif not pods_error:
            lines.append("Every pod is Running and Ready: nothing to fix.")
        return "\n".join(lines)


class LocalModel:
    """The endpoint, serving one script: `with LocalModel(script) as model: run kubectl-ai with model.environment()`."""

    def __init__(self, script: DiagnosisScript) -> None:
        self.script = script
        self.key = secrets.token_urlsafe(24)
        self.exchanges: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    def __enter__(self) -> LocalModel:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.model = self  # type: ignore[attr-defined]
        threading.Thread(target=self._server.serve_forever, name="stand-in model", daemon=True).start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def base_url(self) -> str:
        assert self._server is not None, "the stand-in model is not running"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def environment(self) -> dict[str, str]:
        """What kubectl-ai's openai provider reads: the key it sends and the base URL it calls."""
        return {"OPENAI_API_KEY": self.key, "OPENAI_ENDPOINT": self.base_url}

    def complete(self, request: dict[str, Any]) -> Reply:
        with self._lock:
            reply = self.script.reply(request)
            messages = request.get("messages") or []
            received = tool_results(messages)
            self.exchanges.append({
                "turn": len(self.exchanges) + 1, "messages": len(messages), "stream": bool(request.get("stream")),
                "model": request.get("model"),
                "tools_offered": sorted(t.get("function", {}).get("name", "") for t in request.get("tools") or []),
                "tool_results_received": {k: len(v.get("stdout") or "") for k, v in received.items()},
                "reply": "tool call" if reply.call else "answer",
                **({"command": reply.call.command} if reply.call else {"answer_chars": len(reply.text)}),
            })
        return reply

    def summary(self) -> dict[str, Any]:
        """For the report: the turns, the commands asked for, the bytes of kubectl output that came back, the pods reported."""
        last = self.exchanges[-1] if self.exchanges else {}
        return {"model": DESCRIPTION, "turns": len(self.exchanges),
                "kubectl_commands": [e["command"] for e in self.exchanges if "command" in e],
                "tool_output_chars": last.get("tool_results_received", {}),
                "answered": last.get("reply") == "answer",
                "pods_reported": {f.name: f.line().split(": ", 1)[1] for f in self.script.facts}}


def completion_chunks(reply: Reply, model: str, completion_id: str) -> list[dict[str, Any]]:
    """The reply as streamed chunks: the delta (tool call or text), then an empty delta with the finish reason.

    The empty last delta matters: OpenAI's Go client reports a tool call as finished only when a later chunk
    no longer carries it."""
    base = {"id": completion_id, "object": "chat.completion.chunk", "created": int(time.time()), "model": model}
    if reply.call:
        delta = {"role": "assistant", "tool_calls": [{"index": 0, "id": reply.call.id, "type": "function",
                                                      "function": {"name": KUBECTL_TOOL, "arguments": reply.call.arguments}}]}
        finish = "tool_calls"
    else:
        delta, finish = {"role": "assistant", "content": reply.text}, "stop"
    return [{**base, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]},
            {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]}]


def completion(reply: Reply, model: str, completion_id: str) -> dict[str, Any]:
    """The reply as one (non-streamed) chat completion."""
    message: dict[str, Any] = {"role": "assistant", "content": reply.text or None}
    if reply.call:
        message["tool_calls"] = [{"id": reply.call.id, "type": "function",
                                  "function": {"name": KUBECTL_TOOL, "arguments": reply.call.arguments}}]
    return {"id": completion_id, "object": "chat.completion", "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls" if reply.call else "stop"}],
            "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}}


class _Handler(BaseHTTPRequestHandler):
    server_version = "deployproof-stand-in"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass  # LocalModel.exchanges is the record

    @property
    def model(self) -> LocalModel:
        return self.server.model  # type: ignore[attr-defined]

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        if self._authorized():
            if self.path.rstrip("/").endswith("/models"):
                self._json(200, {"object": "list", "data": [{"id": MODEL, "object": "model", "owned_by": "deployproof"}]})
            else:
                self._error(404, f"no such path {self.path}")

    def do_POST(self) -> None:  # noqa: N802
        if not self._authorized():
            return
        if not self.path.rstrip("/").endswith("/chat/completions"):
            self._error(404, f"no such path {self.path}")
            return
        try:
            request = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
        except ValueError:
            self._error(400, "the body is not JSON")
            return
        reply = self.model.complete(request)
        completion_id = f"chatcmpl-{secrets.token_hex(6)}"
        model = request.get("model") or MODEL
        if not request.get("stream"):
            self._json(200, completion(reply, model, completion_id))
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        for chunk in completion_chunks(reply, model, completion_id):
            self.wfile.write(b"data: " + json.dumps(chunk).encode() + b"\n\n")
        self.wfile.write(b"data: [DONE]\n\n")
        self.close_connection = True

    def _authorized(self) -> bool:
        if self.headers.get("Authorization") == f"Bearer {self.model.key}":
            return True
        self._error(401, "wrong or missing API key")
        return False

    def _error(self, status: int, message: str) -> None:
        self._json(status, {"error": {"message": message, "type": "invalid_request_error"}})

    def _json(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def unreported_facts(answer: str, pods: list[Any]) -> dict[str, str]:
    """What the API says about each pod (kubernetes-client V1Pods) that the answer does not say on the pod's line:
    pod name → the missing fact. Empty when every running pod is named with its readiness and, if it is in
    trouble, the trouble. Finished pods (Succeeded, being deleted) are not required."""
    lines = answer.splitlines()
    troubles = live_pod_troubles(pods)
    missing: dict[str, str] = {}
    for pod in pods:
        name = pod.metadata.name
        if pod.status.phase == "Succeeded" or pod.metadata.deletion_timestamp is not None:
            continue
        statuses = pod.status.container_statuses or []
        ready = f"ready {sum(bool(s.ready) for s in statuses)}/{len(pod.spec.containers or []) or len(statuses)}"
        said = " ".join(line for line in lines if name in line)
        if not said:
            missing[name] = "not named"
        elif ready not in said:
            missing[name] = f"not named with {ready!r}"
        elif name in troubles and troubles[name] not in said:
            missing[name] = f"its trouble {troubles[name]!r} is not said"
    return missing
