"use client";
import AppShell from "@/components/AppShell";
import TaskList from "@/components/TaskList";

export default function TasksPage() {
  return (
    <AppShell>
      {(user) => (
        <main className="container">
          <TaskList userId={user.id} />
        </main>
      )}
    </AppShell>
  );
}
