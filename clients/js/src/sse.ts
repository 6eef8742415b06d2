/**
 * Server-sent events over `fetch`: a parser for the text/event-stream format
 * (as the HTML standard defines it) and a reader that feeds it from a body.
 *
 * We cannot use EventSource: it sends no Authorization header, and it hides
 * why a connection failed, which we need to decide between resuming,
 * giving up and falling back to polling.
 */

export interface SseMessage {
  /** The last event id seen on the stream when this message was dispatched. */
  id: string | undefined;
  event: string;
  data: string;
}

export class SseParser {
  /**
   * The id to resume after. As in the standard, it is sticky (an `id:` line
   * holds for later events that have none) and only taken when its event is
   * complete: a connection cut after `id:` but before the blank line must
   * not skip that event on resume.
   */
  lastEventId: string | undefined;
  /** The server's `retry:` hint in ms, if it sent one. */
  retry: number | undefined;

  private buffer = "";
  private skipLeadingLF = false;
  private started = false;
  private data: string[] = [];
  private event = "";
  private idBuffer: string | undefined;

  /** Feeds decoded text; returns the messages completed by it. */
  push(text: string): SseMessage[] {
    if (!this.started && text.length > 0) {
      this.started = true;
      if (text.startsWith("\uFEFF")) text = text.slice(1);
    }
    if (this.skipLeadingLF && text.startsWith("\n")) text = text.slice(1);
    this.skipLeadingLF = false;
    const buf = this.buffer + text;
    const out: SseMessage[] = [];
    let start = 0;
    for (let i = 0; i < buf.length; i++) {
      const c = buf[i];
      if (c !== "\r" && c !== "\n") continue;
      const line = buf.slice(start, i);
      if (c === "\r") {
        // CRLF may be split across two chunks: remember to drop the LF.
        if (i + 1 < buf.length) {
          if (buf[i + 1] === "\n") i++;
        } else {
          this.skipLeadingLF = true;
        }
      }
      start = i + 1;
      this.line(line, out);
    }
    this.buffer = buf.slice(start);
    return out;
  }

  private line(line: string, out: SseMessage[]): void {
    if (line === "") {
      this.dispatch(out);
      return;
    }
    if (line.startsWith(":")) return; // a comment: the server's heartbeat
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    switch (field) {
      case "event":
        this.event = value;
        break;
      case "data":
        this.data.push(value);
        break;
      case "id":
        if (!value.includes("\0")) this.idBuffer = value;
        break;
      case "retry":
        if (/^\d+$/.test(value)) this.retry = Number(value);
        break;
      default: // unknown fields are ignored, per the standard
    }
  }

  private dispatch(out: SseMessage[]): void {
    this.lastEventId = this.idBuffer;
    if (this.data.length > 0) {
      out.push({
        id: this.lastEventId,
        event: this.event || "message",
        data: this.data.join("\n"),
      });
    }
    this.data = [];
    this.event = "";
  }
}

export interface StreamEnd<T> {
  /** What `onMessage` returned to stop reading, if it did. */
  value?: T;
  /** Whether any byte arrived (heartbeats count): a buffering proxy sends none. */
  gotBytes: boolean;
  /** The connection broke (rather than ended cleanly). */
  dropped: boolean;
  /** Nothing arrived for `idleMs`, so we hung up. */
  idled: boolean;
}

/**
 * Reads a stream until it ends, breaks, stays silent for `idleMs`, or
 * `onMessage` returns a value. Errors thrown by `onMessage` propagate; an
 * abort of `signal` rejects with its reason.
 */
export async function readEventStream<T>(
  body: ReadableStream<Uint8Array>,
  parser: SseParser,
  idleMs: number,
  signal: AbortSignal,
  onMessage: (message: SseMessage) => T | undefined,
): Promise<StreamEnd<T>> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const end: StreamEnd<T> = { gotBytes: false, dropped: false, idled: false };
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hangUp = (): void => {
    reader.cancel().catch(() => undefined);
  };
  const arm = (): void => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      end.idled = true;
      hangUp();
    }, idleMs);
  };
  signal.addEventListener("abort", hangUp);
  try {
    arm();
    for (;;) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch {
        if (signal.aborted) throw signal.reason;
        return { ...end, dropped: !end.idled };
      }
      if (signal.aborted) throw signal.reason;
      if (chunk.done) return end;
      end.gotBytes = true;
      arm();
      for (const message of parser.push(decoder.decode(chunk.value, { stream: true }))) {
        let value: T | undefined;
        try {
          value = onMessage(message);
        } catch (e) {
          hangUp(); // the caller's error ends the wait: do not leave the connection open
          throw e;
        }
        if (value !== undefined) {
          hangUp();
          return { ...end, value };
        }
      }
    }
  } finally {
    clearTimeout(timer);
    signal.removeEventListener("abort", hangUp);
  }
}
