"use client";
import Link from "next/link";
import { usePathname, useRouter } from "next/navigation";
import { useEffect, useState } from "react";
import { getSessionUser, signOut, type SessionUser } from "@/lib/client";

/** Top bar + session guard: renders children only for a signed-in user. */
export default function AppShell({ children }: { children: (user: SessionUser) => React.ReactNode }) {
  const router = useRouter();
  const pathname = usePathname();
  const [user, setUser] = useState<SessionUser | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let alive = true;
    getSessionUser()
      .then((u) => {
        if (!alive) return;
        if (u) setUser(u);
        else router.replace("/signin");
      })
      .catch((err) => alive && setError((err as Error).message));
    return () => {
      alive = false;
    };
  }, [router]);

  async function doSignOut() {
    try {
      await signOut();
    } finally {
      setUser(null);
      router.replace("/signin");
      router.refresh();
    }
  }

  return (
    <>
      <header className="topbar">
        <span className="brand">Todo AI Chatbot</span>
        {user && (
          <nav>
            <Link href="/tasks" id="nav-tasks" className={pathname === "/tasks" ? "active" : ""}>Tasks</Link>
            <Link href="/chat" id="nav-chat" className={pathname === "/chat" ? "active" : ""}>Chat</Link>
            <span className="muted" id="current-user" data-user-id={user.id}>{user.email}</span>
            <button type="button" className="secondary" id="signout" onClick={doSignOut}>Sign out</button>
          </nav>
        )}
      </header>
      {error && <p className="error container">Could not load your session: {error}</p>}
      {user ? children(user) : !error && <p className="container muted" id="loading">Loading…</p>}
    </>
  );
}
