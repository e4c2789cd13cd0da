"use client";
// Browser-side helpers: plain fetch against our own origin (cookies are same-origin).

export interface SessionUser {
  id: string;
  email: string;
  name: string;
}

export interface Task {
  id: number | string;
  title: string;
  description?: string | null;
  completed: boolean;
  created_at?: string;
}

export interface ChatReply {
  conversation_id: number | string;
  response: string;
  tool_calls?: unknown[];
}

async function readError(res: Response): Promise<string> {
  const text = await res.text().catch(() => "");
  try {
    const j = JSON.parse(text);
    const msg = j.message || j.detail || j.reason || j.error;
    if (msg) return typeof msg === "string" ? msg : JSON.stringify(msg);
  } catch {
    /* not JSON */
  }
  return text || `${res.status} ${res.statusText}`;
}

async function call<T>(url: string, init: RequestInit = {}): Promise<T> {
  const res = await fetch(url, {
    ...init,
    credentials: "same-origin",
    headers: { accept: "application/json", ...(init.body ? { "content-type": "application/json" } : {}), ...init.headers },
    cache: "no-store",
  });
  if (!res.ok) throw new Error(await readError(res));
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

export async function getSessionUser(): Promise<SessionUser | null> {
  const data = await call<{ user?: SessionUser } | null>("/api/auth/get-session");
  return data?.user ?? null;
}

export function signUp(name: string, email: string, password: string) {
  return call<{ user: SessionUser }>("/api/auth/sign-up/email", {
    method: "POST",
    body: JSON.stringify({ name, email, password }),
  });
}

export function signIn(email: string, password: string) {
  return call<{ user: SessionUser }>("/api/auth/sign-in/email", {
    method: "POST",
    body: JSON.stringify({ email, password }),
  });
}

export function signOut() {
  return call<unknown>("/api/auth/sign-out", { method: "POST", body: "{}" });
}

function normaliseTasks(data: unknown): Task[] {
  if (Array.isArray(data)) return data as Task[];
  const d = data as Record<string, unknown> | null;
  for (const key of ["tasks", "items", "data", "results"]) {
    if (d && Array.isArray(d[key])) return d[key] as Task[];
  }
  return [];
}

export const api = {
  listTasks: async (userId: string) => normaliseTasks(await call<unknown>(`/api/${encodeURIComponent(userId)}/tasks`)),
  addTask: (userId: string, title: string, description?: string) =>
    call<Task>(`/api/${encodeURIComponent(userId)}/tasks`, {
      method: "POST",
      body: JSON.stringify(description ? { title, description } : { title }),
    }),
  toggleTask: (userId: string, id: Task["id"]) =>
    call<Task>(`/api/${encodeURIComponent(userId)}/tasks/${encodeURIComponent(String(id))}/complete`, {
      method: "PATCH",
    }),
  deleteTask: (userId: string, id: Task["id"]) =>
    call<unknown>(`/api/${encodeURIComponent(userId)}/tasks/${encodeURIComponent(String(id))}`, { method: "DELETE" }),
  chat: (userId: string, message: string, conversationId?: ChatReply["conversation_id"] | null) =>
    call<ChatReply>(`/api/${encodeURIComponent(userId)}/chat`, {
      method: "POST",
      body: JSON.stringify(conversationId != null ? { conversation_id: conversationId, message } : { message }),
    }),
};
