"use client";
import { useState } from "react";
import AppShell from "@/components/AppShell";
import ChatPanel from "@/components/ChatPanel";
import TaskList from "@/components/TaskList";

export default function ChatPage() {
  const [refreshKey, setRefreshKey] = useState(0);
  return (
    <AppShell>
      {(user) => (
        <main className="container wide split">
          <ChatPanel userId={user.id} onToolCalls={() => setRefreshKey((k) => k + 1)} />
          <TaskList userId={user.id} refreshKey={refreshKey} />
        </main>
      )}
    </AppShell>
  );
}
