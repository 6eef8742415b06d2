import { describe, expect, it } from "vitest";
import { SseParser } from "../src/sse.js";

function feed(chunks: string[]) {
  const p = new SseParser();
  const out = chunks.flatMap((c) => p.push(c));
  return { p, out };
}

describe("SseParser", () => {
  it("parses id, event and data, ignoring heartbeats", () => {
    const { out } = feed([': ping\n\nid: 1-0\nevent: progress\ndata: {"progress":0.5}\n\n']);
    expect(out).toEqual([{ id: "1-0", event: "progress", data: '{"progress":0.5}' }]);
  });

  it("handles any line ending, split anywhere, including CRLF across chunks", () => {
    const text = "id: 7\r\nevent: state\rdata: a\ndata: b\r\n\r\nid: 8\ndata: c\n\n";
    const whole = feed([text]).out;
    for (let cut = 1; cut < text.length; cut++) {
      expect(feed([text.slice(0, cut), text.slice(cut)]).out).toEqual(whole);
    }
    expect(whole).toEqual([
      { id: "7", event: "state", data: "a\nb" },
      { id: "8", event: "message", data: "c" },
    ]);
  });

  it("keeps the last id for events without one, and reads retry", () => {
    const { p, out } = feed(["\uFEFFid: 5\nretry: 3000\ndata: x\n\ndata: y\n\n"]);
    expect(out.map((m) => m.id)).toEqual(["5", "5"]);
    expect(p.retry).toBe(3000);
    expect(p.lastEventId).toBe("5");
  });

  it("drops an event cut off by the end of the stream", () => {
    const { p, out } = feed(["id: 1\ndata: complete\n\nid: 2\ndata: partial"]);
    expect(out).toHaveLength(1);
    expect(p.lastEventId).toBe("1");
  });

  it("takes only one leading space off values and ignores unknown fields", () => {
    const { out } = feed(["data:  two spaces\nfoo: bar\ndata\n\n"]);
    expect(out[0]!.data).toBe(" two spaces\n");
  });
});
