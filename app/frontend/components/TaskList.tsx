"use client";
import { useCallback, useEffect, useState } from "react";
import { api, type Task } from "@/lib/client";

export default function TaskList({ userId, refreshKey = 0, allowAdd = true }: {
  userId: string; refreshKey?: number; allowAdd?: boolean;
}) {
  const [tasks, setTasks] = useState<Task[]>([]);
  const [loaded, setLoaded] = useState(false);
  const [title, setTitle] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const load = useCallback(async () => {
    try {
      setTasks(await api.listTasks(userId));
      setError(null);
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setLoaded(true);
    }
  }, [userId]);

  useEffect(() => {
    load();
  }, [load, refreshKey]);

  async function run(action: () => Promise<unknown>) {
    setBusy(true);
    try {
      await action();
      await load();
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  }

  async function add(e: React.FormEvent) {
    e.preventDefault();
    const t = title.trim();
    if (!t) return;
    await run(async () => {
      await api.addTask(userId, t);
      setTitle("");
    });
  }

  return (
    <section className="card" id="task-panel">
      <h2>Your tasks</h2>
      {allowAdd && (
        <form className="row" onSubmit={add}>
          <input id="task-title" type="text" placeholder="What needs doing?" value={title} maxLength={200}
            onChange={(e) => setTitle(e.target.value)} aria-label="New task title" />
          <button type="submit" id="task-add" disabled={busy || !title.trim()}>Add</button>
        </form>
      )}
      {error && <p className="error" id="task-error" role="alert">{error}</p>}
      {loaded && tasks.length === 0 && !error && <p className="muted" id="task-empty">No tasks yet.</p>}
      <ul className="tasks" id="task-list" data-loaded={loaded ? "true" : "false"}>
        {tasks.map((t) => (
          <li key={String(t.id)} className={`task${t.completed ? " done" : ""}`} data-testid="task-item"
            data-task-id={String(t.id)} data-completed={t.completed ? "true" : "false"}>
            <input type="checkbox" checked={!!t.completed} disabled={busy} data-testid="task-toggle"
              aria-label={`Mark "${t.title}" ${t.completed ? "not done" : "done"}`}
              onChange={() => run(() => api.toggleTask(userId, t.id))} />
            <span className="title" data-testid="task-title">
              {t.title}
              {t.description ? <span className="muted"> — {t.description}</span> : null}
            </span>
            <button type="button" className="danger" disabled={busy} data-testid="task-delete"
              aria-label={`Delete "${t.title}"`} onClick={() => run(() => api.deleteTask(userId, t.id))}>
              Delete
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}
