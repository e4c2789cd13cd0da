"use client";
import { useEffect, useRef, useState } from "react";
import { api, type ChatReply } from "@/lib/client";

interface Message {
  role: "user" | "assistant";
  text: string;
  tools?: string[];
}

function toolNames(calls: unknown[] | undefined): string[] {
  if (!Array.isArray(calls)) return [];
  return calls.map((c) => {
    const o = c as Record<string, unknown> | string;
    if (typeof o === "string") return o;
    return String(o?.name ?? o?.tool ?? (o?.function as Record<string, unknown> | undefined)?.name ?? "tool");
  });
}

export default function ChatPanel({ userId, onToolCalls }: { userId: string; onToolCalls?: () => void }) {
  const storageKey = `todo-chat-conversation:${userId}`;
  const [messages, setMessages] = useState<Message[]>([]);
  const [conversationId, setConversationId] = useState<ChatReply["conversation_id"] | null>(null);
  const [input, setInput] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const logRef = useRef<HTMLDivElement>(null);

  useEffect(() => {
    const saved = window.localStorage.getItem(storageKey);
    // The backend wants a number (strict JSON int); keep other ids as they came.
    if (saved) setConversationId(/^\d+$/.test(saved) ? Number(saved) : saved);
  }, [storageKey]);

  useEffect(() => {
    logRef.current?.scrollTo({ top: logRef.current.scrollHeight });
  }, [messages]);

  async function send(e: React.FormEvent) {
    e.preventDefault();
    const text = input.trim();
    if (!text || busy) return;
    setInput("");
    setError(null);
    setBusy(true);
    setMessages((m) => [...m, { role: "user", text }]);
    try {
      const reply = await api.chat(userId, text, conversationId);
      setConversationId(reply.conversation_id);
      window.localStorage.setItem(storageKey, String(reply.conversation_id));
      const tools = toolNames(reply.tool_calls);
      setMessages((m) => [...m, { role: "assistant", text: reply.response, tools }]);
      if (tools.length) onToolCalls?.();
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  }

  function newConversation() {
    window.localStorage.removeItem(storageKey);
    setConversationId(null);
    setMessages([]);
  }

  return (
    <section className="card" id="chat-panel">
      <div className="row" style={{ justifyContent: "space-between", alignItems: "center" }}>
        <h2 style={{ margin: 0 }}>Assistant</h2>
        <button type="button" className="secondary" id="chat-new" onClick={newConversation} disabled={busy}>
          New chat
        </button>
      </div>
      <p className="muted">Try: “add buy milk”, “show my tasks”, “complete task 1”.</p>
      <div className="chat-log" id="chat-log" ref={logRef} aria-live="polite"
        data-conversation-id={conversationId == null ? "" : String(conversationId)}>
        {messages.map((m, i) => (
          <div key={i} className={`msg ${m.role}`} data-testid={`chat-message-${m.role}`}>
            {m.text}
            {m.tools && m.tools.length > 0 && <div className="tools">tools: {m.tools.join(", ")}</div>}
          </div>
        ))}
        {busy && <div className="msg assistant muted" id="chat-pending">…</div>}
      </div>
      {error && <p className="error" id="chat-error" role="alert">{error}</p>}
      <form className="row chat-form" onSubmit={send}>
        <input id="chat-input" type="text" placeholder="Ask the assistant…" value={input} maxLength={2000}
          onChange={(e) => setInput(e.target.value)} aria-label="Message" autoComplete="off" />
        <button type="submit" id="chat-send" disabled={busy || !input.trim()}>Send</button>
      </form>
    </section>
  );
}
