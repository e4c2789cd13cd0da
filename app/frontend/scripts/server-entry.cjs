// The image's entry point (`node server.js`): installed by scripts/postbuild.mjs in place of Next's standalone
// server.js, which it then loads unchanged (renamed next-server.js). Two things Next leaves to the platform:
//
// 1. The caller's socket address. Route handlers only see headers, so every request is stamped with its TCP peer
//    address in x-todo-socket-address, replacing any copy the client sent. lib/client-address.ts turns it into
//    the rate-limit key (X-Forwarded-For counts only from TRUSTED_PROXIES).
// 2. A clean status for requests Node refuses to parse. Node answers a header block over its limit (16 KiB,
//    NODE_OPTIONS=--max-http-header-size=N to change) with 431 and destroys the socket at once; with the client
//    still sending, that close becomes a TCP reset and the client sees "connection reset", never the 431. Here the
//    answer is JSON, the socket is half-closed after it, and what the client still sends is drained, so the
//    status arrives.
// 3. A drain on SIGTERM. Next's own handler calls server.close(), which closes idle keep-alive sockets at once;
//    a client that sends its next request on such a socket at that moment sees "connection closed" (one lost
//    request in a frontend rollout, measured). Instead, for DRAIN_ON_TERM_MS every response says
//    `Connection: close`, so each client that is still sending moves to a new pod on its own; then the server
//    closes once its in-flight requests end, and the process exits (Next's own signal handler is off:
//    NEXT_MANUAL_SIG_HANDLE). The chart's preStop sleep has already taken the pod out of the endpoints by then.
"use strict";
const http = require("node:http");

const DRAIN_ON_TERM_MS = Number(process.env.TODO_DRAIN_ON_TERM_MS || 3000);
let draining = false;
process.env.NEXT_MANUAL_SIG_HANDLE = "true"; // Next leaves SIGTERM/SIGINT to shutdown() below
const servers = new Set();

const SOCKET_ADDRESS_HEADER = "x-todo-socket-address";
const DRAIN_MS = 5000;
const REFUSALS = {
  HPE_HEADER_OVERFLOW: [431, "Request Header Fields Too Large", "headers_too_large", "request headers over the server's limit"],
  ERR_HTTP_REQUEST_TIMEOUT: [408, "Request Timeout", "request_timeout", "the request did not arrive in time"],
};

function refuse(error, socket) {
  if (socket.__todoRefused) return;
  socket.__todoRefused = true;
  const inFlight = socket._httpMessage;
  if (!socket.writable || (inFlight && inFlight.headersSent)) {
    socket.destroy();
    return;
  }
  const [status, text, code, reason] = REFUSALS[error.code] || [400, "Bad Request", "bad_request", "malformed HTTP request"];
  const body = JSON.stringify({ error: code, reason });
  socket.removeAllListeners("data"); // stop feeding the failed parser; just drain
  socket.on("data", () => {});
  socket.on("error", () => {});
  socket.end(
    `HTTP/1.1 ${status} ${text}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
      `Cache-Control: no-store\r\nConnection: close\r\n\r\n${body}`,
  );
  socket.resume();
  setTimeout(() => socket.destroy(), DRAIN_MS).unref();
}

const emit = http.Server.prototype.emit;
http.Server.prototype.emit = function emitWithClientAddress(event, ...args) {
  if (event === "request") {
    const [req, res] = args;
    req.headers[SOCKET_ADDRESS_HEADER] = (req.socket && req.socket.remoteAddress) || "";
    servers.add(this);
    if (draining) res.setHeader("Connection", "close");
  } else if (event === "clientError") {
    refuse(args[0], args[1]);
    return true; // handled: Node's default would destroy the socket under the answer
  }
  return emit.call(this, event, ...args);
};

function shutdown(signal) {
  if (draining) return;
  draining = true;
  setTimeout(() => {
    let open = servers.size;
    const exit = () => process.exit(signal === "SIGINT" ? 130 : 143);
    if (open === 0) exit();
    for (const server of servers) {
      server.close(() => (--open === 0 ? exit() : undefined)); // waits for in-flight requests
      server.closeIdleConnections();
    }
    setTimeout(exit, 10000).unref(); // a request that never ends does not hold the pod past its grace period
  }, DRAIN_ON_TERM_MS).unref();
}
process.on("SIGTERM", () => shutdown("SIGTERM"));
process.on("SIGINT", () => shutdown("SIGINT"));

require("./next-server.js");
