import { describe, expect, it } from "vitest";
import type { StatsGroup } from "../admin/api.js";
import {
  HOUR_MS,
  band,
  failureRate,
  hourSlots,
  lineRuns,
  niceMax,
  stack,
} from "../admin/charts.js";
import { ago, shortId } from "../admin/tables.js";
import { OperatorToken } from "../admin/token.js";

function group(key: string | null, completed: number, failed: number, cancelled = 0): StatsGroup {
  return {
    key,
    jobs: completed + failed + cancelled,
    by_status: { completed, failed, cancelled },
    success_rate: completed + failed ? completed / (completed + failed) : null,
    run_time_s: { count: completed, p50: null, p95: null, p99: null },
  };
}

describe("console charts", () => {
  it("tops an axis at 1, 2 or 5 times a power of ten", () => {
    expect([0, 0.3, 1, 3, 7, 12, 250, 999].map(niceMax)).toEqual([1, 0.5, 1, 5, 10, 20, 500, 1000]);
  });

  it("fills the hours of a window from hourly groups, empty hours as zero", () => {
    const until = Date.parse("2026-12-02T05:30:00Z");
    const slots = hourSlots(
      [
        group("2026-12-02T03:00:00+00:00", 4, 1),
        group("2026-12-02T05:00:00+00:00", 0, 2, 1),
        group("2026-11-01T05:00:00+00:00", 9, 9), // outside the window
        group(null, 9, 9),
      ],
      until,
      3,
    );
    expect(slots.map((s) => new Date(s.start).toISOString())).toEqual([
      "2026-12-02T03:00:00.000Z",
      "2026-12-02T04:00:00.000Z",
      "2026-12-02T05:00:00.000Z",
    ]);
    expect(slots.map((s) => [s.completed, s.failed, s.cancelled])).toEqual([
      [4, 1, 0],
      [0, 0, 0],
      [0, 2, 1],
    ]);
    expect(slots.map(failureRate)).toEqual([0.2, null, 1]);
    expect(slots[1]!.start - slots[0]!.start).toBe(HOUR_MS);
  });

  it("stacks a slot's parts bottom up, to the height of their sum", () => {
    const [a, b] = stack(
      0,
      4,
      [
        ["completed", 3],
        ["failed", 1],
        ["cancelled", 0],
      ],
      8,
    );
    const whole = band(0, 4, 4, 8);
    expect(a!.cls).toBe("completed");
    expect(b!.cls).toBe("failed");
    expect(a!.y + a!.h).toBeCloseTo(whole.y + whole.h); // on the axis
    expect(b!.y).toBeCloseTo(whole.y); // the top of the stack
    expect(a!.h).toBeCloseTo(3 * b!.h);
  });

  it("breaks a line where there is no value", () => {
    const runs = lineRuns([0.5, null, 0, 1], 1);
    expect(runs.map((r) => r.length)).toEqual([1, 2]);
    expect(runs[1]![0]![1]).toBeGreaterThan(runs[1]![1]![1]); // 0 is drawn below 1
  });
});

describe("console text", () => {
  it("tells ages in seconds, minutes or hours", () => {
    const now = Date.parse("2026-12-02T05:00:00Z");
    expect(ago("2026-12-02T04:59:30Z", now)).toBe("30 s");
    expect(ago("2026-12-02T04:30:00Z", now)).toBe("30 min");
    expect(ago("2026-12-01T05:00:00Z", now)).toBe("24 h");
    expect(ago(null, now)).toBe("");
    expect(shortId("4ca719b3-aaaa-4bbb-8ccc-dddddddddddd")).toBe("4ca719b3");
  });
});

describe("OperatorToken", () => {
  class Mem implements Pick<Storage, "getItem" | "setItem" | "removeItem"> {
    map = new Map<string, string>();
    getItem(k: string): string | null {
      return this.map.get(k) ?? null;
    }
    setItem(k: string, v: string): void {
      this.map.set(k, v);
    }
    removeItem(k: string): void {
      this.map.delete(k);
    }
  }

  it("keeps the token under its own key, apart from the demo page's", () => {
    const mem = new Mem();
    const t = new OperatorToken(mem as unknown as Storage);
    t.set("abc");
    expect([...mem.map.keys()]).toEqual(["jobgate.admin-token"]);
    expect(t.get()).toBe("abc");
    t.clear();
    expect(t.get()).toBeUndefined();
  });
});
