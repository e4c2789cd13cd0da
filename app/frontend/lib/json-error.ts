// The frontend's own error answers: JSON `{error, reason, ...}`, never cached.
export function jsonError(
  status: number,
  error: string,
  reason: string,
  extra: Record<string, unknown> = {},
  headers: Record<string, string> = {},
) {
  return Response.json({ error, reason, ...extra }, { status, headers: { "cache-control": "no-store", ...headers } });
}
