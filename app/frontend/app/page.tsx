"use client";
import { useRouter } from "next/navigation";
import { useEffect } from "react";
import { getSessionUser } from "@/lib/client";

export default function Home() {
  const router = useRouter();
  useEffect(() => {
    getSessionUser()
      .then((u) => router.replace(u ? "/chat" : "/signin"))
      .catch(() => router.replace("/signin"));
  }, [router]);
  return <p className="container muted">Loading…</p>;
}
