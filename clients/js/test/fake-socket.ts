/**
 * A scripted stand-in for the server's `/ws`, as a WebSocket class: every
 * connection the client opens is recorded, and the test plays the server
 * on it (open it, send it messages, close it with a code) and reads what
 * the client sent.
 */

type Listener = (event: never) => void;

export class FakeSocket {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSING = 2;
  static readonly CLOSED = 3;

  readyState = FakeSocket.CONNECTING;
  /** Every message the client sent, parsed. */
  readonly sent: Record<string, unknown>[] = [];
  /** The code the client closed with, if it did. */
  closedByClient: number | undefined;
  /** Date.now() when the client opened it (fake timers make it exact). */
  readonly createdAt = Date.now();
  readonly listeners = new Map<string, Listener[]>();

  constructor(
    readonly url: string,
    readonly server: FakeSocketServer,
  ) {}

  addEventListener(type: string, listener: Listener): void {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener]);
  }

  send(data: string): void {
    // As a browser does: an error while connecting, silently dropped once closed.
    if (this.readyState === FakeSocket.CONNECTING) throw new Error("send while connecting");
    if (this.readyState !== FakeSocket.OPEN) return;
    this.sent.push(JSON.parse(data) as Record<string, unknown>);
    this.server.onSend?.(this, this.sent[this.sent.length - 1]!);
  }

  close(code = 1000): void {
    if (this.readyState >= FakeSocket.CLOSING) return;
    this.closedByClient = code;
    this.readyState = FakeSocket.CLOSED;
    // As a browser does: the close event comes later, on its own task.
    setTimeout(() => this.emit("close", { code, reason: "" }), 0);
  }

  // --- the server's side ---

  open(): this {
    this.readyState = FakeSocket.OPEN;
    this.emit("open", {});
    return this;
  }

  message(body: unknown): this {
    if (this.readyState !== FakeSocket.OPEN) return this;
    this.emit("message", { data: typeof body === "string" ? body : JSON.stringify(body) });
    return this;
  }

  /** The server closes (or the handshake fails: code 1006 before `open`). */
  shut(code: number, reason = ""): void {
    if (this.readyState === FakeSocket.CLOSED) return;
    this.readyState = FakeSocket.CLOSED;
    if (code === 1006) this.emit("error", {});
    this.emit("close", { code, reason });
  }

  emit(type: string, event: unknown): void {
    for (const l of this.listeners.get(type) ?? []) (l as (e: unknown) => void)(event);
  }
}

export class FakeSocketServer {
  readonly sockets: FakeSocket[] = [];
  /** Called on every client message: the test answers from here. */
  onSend: ((socket: FakeSocket, message: Record<string, unknown>) => void) | undefined;
  /** Called on every new connection: open it, refuse it, or leave it connecting. */
  onConnect: ((socket: FakeSocket) => void) | undefined;

  /** The class to hand the client as `WebSocket`. */
  readonly WebSocket = ((server: FakeSocketServer) =>
    class extends FakeSocket {
      constructor(url: string) {
        super(url, server);
        server.sockets.push(this);
        const hook = server.onConnect;
        // Once the client has attached its listeners (it does so right after `new`).
        if (hook) queueMicrotask(() => hook(this));
      }
    })(this);

  get last(): FakeSocket {
    const s = this.sockets[this.sockets.length - 1];
    if (s === undefined) throw new Error("no socket opened yet");
    return s;
  }
}

/** Resolves once `check` holds, checking after each turn of the event loop. */
export async function until(check: () => boolean, what = "condition"): Promise<void> {
  const holds = (): boolean => {
    try {
      return check();
    } catch {
      return false; // e.g. `server.last` before the first socket
    }
  };
  for (let i = 0; i < 2000; i++) {
    if (holds()) return;
    await new Promise((r) => setTimeout(r, 1));
  }
  throw new Error(`gave up waiting for ${what}`);
}

export function event(jobId: string, id: string, type: string, data: Record<string, unknown>) {
  return { type: "event", job_id: jobId, id, event: type, data };
}

export function state(jobId: string, id: string, status: string, extra = {}) {
  return event(jobId, id, "state", { status, ...extra });
}
