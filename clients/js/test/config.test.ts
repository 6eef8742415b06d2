import { describe, expect, it } from "vitest";
import { getJobConfig } from "../src/index.js";

const DEFAULTS = {
  apiUrl: "",
  pollInterval: 5000,
  maxPollAttempts: 120,
  timeout: 600_000,
  token: undefined,
};

describe("getJobConfig", () => {
  it("falls back to the defaults when nothing is set", () => {
    expect(getJobConfig({})).toEqual(DEFAULTS);
  });

  it("reads numbers and numeric strings", () => {
    expect(
      getJobConfig({
        __API_URL__: "https://api.example.com/",
        __JOB_POLL_INTERVAL_MS__: 2500,
        __JOB_MAX_POLL_ATTEMPTS__: " 40 ",
        __JOB_TIMEOUT_MS__: "90000",
        __JOBGATE_TOKEN__: "demo",
      }),
    ).toEqual({
      apiUrl: "https://api.example.com",
      pollInterval: 2500,
      maxPollAttempts: 40,
      timeout: 90_000,
      token: "demo",
    });
  });

  it.each([
    ["</script><script>alert(1)</script>"],
    ["12abc"],
    [""],
    ["0x10"],
    ["-5"],
    [0],
    [-1],
    [Number.NaN],
    [Number.POSITIVE_INFINITY],
    [null],
    [true],
    [{ valueOf: () => 7 }],
    [[3000]],
  ])("replaces garbage %j with the default", (bad) => {
    expect(
      getJobConfig({
        __JOB_POLL_INTERVAL_MS__: bad,
        __JOB_MAX_POLL_ATTEMPTS__: bad,
        __JOB_TIMEOUT_MS__: bad,
        __API_URL__: typeof bad === "string" ? 42 : bad,
        __JOBGATE_TOKEN__: typeof bad === "string" ? "" : bad,
      }),
    ).toEqual(DEFAULTS);
  });

  it("never polls fewer than once", () => {
    expect(getJobConfig({ __JOB_MAX_POLL_ATTEMPTS__: 0.5 }).maxPollAttempts).toBe(1);
  });

  it("reads window globals by default", () => {
    const g = globalThis as Record<string, unknown>;
    g.__JOB_POLL_INTERVAL_MS__ = "1234";
    try {
      expect(getJobConfig().pollInterval).toBe(1234);
    } finally {
      delete g.__JOB_POLL_INTERVAL_MS__;
    }
  });
});
