"use client";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { useState } from "react";
import { signIn, signUp } from "@/lib/client";

export default function AuthForm({ mode }: { mode: "signin" | "signup" }) {
  const router = useRouter();
  const [name, setName] = useState("");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const isSignUp = mode === "signup";

  async function submit(e: React.FormEvent) {
    e.preventDefault();
    setError(null);
    setBusy(true);
    try {
      if (isSignUp) await signUp(name.trim() || email.split("@")[0], email.trim(), password);
      else await signIn(email.trim(), password);
      router.replace("/chat");
      router.refresh();
    } catch (err) {
      setError((err as Error).message || "Something went wrong");
      setBusy(false);
    }
  }

  return (
    <main className="container auth">
      <div className="card">
        <h1>{isSignUp ? "Create your account" : "Sign in"}</h1>
        <form onSubmit={submit} id={isSignUp ? "signup-form" : "signin-form"} noValidate>
          {isSignUp && (
            <>
              <label htmlFor="name">Name</label>
              <input id="name" name="name" type="text" autoComplete="name" value={name}
                onChange={(e) => setName(e.target.value)} />
            </>
          )}
          <label htmlFor="email">Email</label>
          <input id="email" name="email" type="email" autoComplete="email" required value={email}
            onChange={(e) => setEmail(e.target.value)} />
          <label htmlFor="password">Password</label>
          <input id="password" name="password" type="password" required minLength={8}
            autoComplete={isSignUp ? "new-password" : "current-password"} value={password}
            onChange={(e) => setPassword(e.target.value)} />
          {error && <p className="error" id="auth-error" role="alert">{error}</p>}
          <button type="submit" id={isSignUp ? "signup-submit" : "signin-submit"} disabled={busy}>
            {busy ? "Please wait…" : isSignUp ? "Sign up" : "Sign in"}
          </button>
        </form>
        <p className="muted">
          {isSignUp ? (
            <>Already have an account? <Link href="/signin" id="goto-signin">Sign in</Link></>
          ) : (
            <>No account yet? <Link href="/signup" id="goto-signup">Sign up</Link></>
          )}
        </p>
      </div>
    </main>
  );
}
