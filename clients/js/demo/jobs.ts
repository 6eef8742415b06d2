/**
 * The demo page's "My jobs" panel: every job of the signed-in user, live, on
 * one WebSocket (`subscribe all`), whether it was submitted from this page,
 * another tab or the CLI. Ten jobs followed with an event stream each would
 * need ten connections, and a browser gives a page six per origin.
 *
 * Server text (messages, results, errors) only ever goes in as text.
 */

import {
  HttpError,
  type ConnectionState,
  type JobResult,
  type JobStatus,
  type JobWatch,
  type WatchError,
  isTerminal,
  watchJobs,
} from "jobgate-client";
import { h, humanize, mainText, stepText } from "./render.js";

export interface MyJobsUi {
  list: HTMLElement;
  empty: HTMLElement;
  feed: HTMLElement;
}

interface Row {
  li: HTMLElement;
  state: HTMLElement;
  bar: HTMLElement;
  fill: HTMLElement;
  percent: HTMLElement;
  step: HTMLElement;
  outcome: HTMLElement;
  cancel: HTMLButtonElement;
}

/** Rows kept on screen; the oldest finished ones go first. */
const MAX_ROWS = 50;
const RESULT_CHARS = 400;

const FEED_LABELS: Record<ConnectionState, string> = {
  connecting: "Connecting…",
  open: "Live",
  reconnecting: "Reconnecting…",
  closed: "Not connected",
};

export class MyJobs {
  private watch: JobWatch | undefined;
  private readonly rows = new Map<string, Row>();

  constructor(private readonly ui: MyJobsUi) {}

  /** Follows the user's jobs with this token (again, if it changed); none: asks for one. */
  start(token: string | undefined): void {
    this.stop();
    if (token === undefined) {
      this.showFeed("closed", "Paste a token to see your jobs.");
      return;
    }
    let watch: JobWatch;
    try {
      watch = this.watchAll(token);
    } catch (e) {
      // An API URL the page cannot turn into a socket's: say so, dial nothing.
      this.showFeed("closed", `Cannot follow your jobs: ${e instanceof Error ? e.message : e}`);
      return;
    }
    this.watch = watch;
    this.showFeed(watch.state);
    watch.closed.catch((e: unknown) => {
      if (this.watch !== watch) return;
      this.showFeed(
        "closed",
        e instanceof HttpError && e.status === 401
          ? "The server did not accept the token: your jobs are not shown."
          : `Lost the connection: ${e instanceof Error ? e.message : String(e)}`,
      );
    });
  }

  private watchAll(token: string): JobWatch {
    const watch: JobWatch = watchJobs("all", {
      token,
      onStatus: (s) => this.onStatus(s),
      onResult: (r) => this.onResult(r),
      onError: (e) => this.onError(e),
      onConnection: (state) => {
        if (this.watch === watch) this.showFeed(state);
      },
    });
    return watch;
  }

  stop(): void {
    const w = this.watch;
    this.watch = undefined;
    w?.close();
  }

  private showFeed(state: ConnectionState, note?: string): void {
    this.ui.feed.dataset.state = state;
    this.ui.feed.textContent = note ?? FEED_LABELS[state];
  }

  private row(jobId: string): Row {
    const known = this.rows.get(jobId);
    if (known !== undefined) return known;
    const fill = h("div", { class: "mj-fill" });
    const bar = h(
      "div",
      {
        class: "mj-bar",
        role: "progressbar",
        "aria-label": "Job progress",
        "aria-valuemin": "0",
        "aria-valuemax": "100",
        "aria-valuenow": "0",
      },
      fill,
    );
    const row: Row = {
      li: h("li", { class: "my-job", "data-testid": "my-job", "data-job-id": jobId }),
      state: h("span", { class: "state", "data-testid": "my-job-state" }),
      bar,
      fill,
      percent: h("span", { "data-testid": "my-job-progress" }, "0%"),
      step: h("span", { class: "mj-step", "data-testid": "my-job-step" }),
      outcome: h("p", { class: "mj-outcome", "data-testid": "my-job-outcome", hidden: "" }),
      cancel: h(
        "button",
        { type: "button", class: "secondary mj-cancel", "data-testid": "my-job-cancel" },
        "Cancel",
      ) as HTMLButtonElement,
    };
    row.cancel.addEventListener("click", () => {
      row.cancel.disabled = true;
      this.watch?.cancel(jobId);
    });
    row.li.append(
      h(
        "div",
        { class: "mj-head" },
        row.state,
        h("code", { class: "mj-id", title: jobId }, jobId),
        row.cancel,
      ),
      row.bar,
      h("div", { class: "mj-meta" }, row.percent, row.step),
      row.outcome,
    );
    this.rows.set(jobId, row);
    this.ui.list.prepend(row.li);
    this.ui.empty.hidden = true;
    this.trim();
    return row;
  }

  private trim(): void {
    for (const [id, r] of this.rows) {
      if (this.rows.size <= MAX_ROWS) return;
      if (isTerminal(r.li.dataset.state ?? "")) {
        r.li.remove();
        this.rows.delete(id);
      }
    }
  }

  private onStatus(s: JobStatus): void {
    const r = this.row(s.job_id);
    r.li.dataset.state = s.status;
    r.state.dataset.state = s.status;
    r.state.textContent = humanize(s.status);
    const pct = Math.round(Math.min(Math.max(s.progress, 0), 1) * 100);
    r.fill.style.width = `${pct}%`;
    r.bar.setAttribute("aria-valuenow", String(pct));
    r.percent.textContent = `${pct}%`;
    r.step.textContent = stepText(s);
    if (isTerminal(s.status)) {
      r.cancel.disabled = true;
      if (s.status !== "completed" && s.error) this.outcome(r, s.error, true);
    }
  }

  private onResult(res: JobResult): void {
    const r = this.row(res.job_id);
    if (res.status === "completed") {
      const text = mainText(res.result) ?? JSON.stringify(res.result ?? {});
      this.outcome(r, text.length > RESULT_CHARS ? `${text.slice(0, RESULT_CHARS)}…` : text);
    } else if (res.error) {
      this.outcome(r, res.error, true);
    }
  }

  private onError(e: WatchError): void {
    if (e.jobId === undefined) {
      this.ui.feed.textContent = `${FEED_LABELS.open} (the server said: ${e.detail || e.code})`;
      return;
    }
    if (!this.rows.has(e.jobId)) return; // a job this page never showed
    this.outcome(this.row(e.jobId), `Not followed: ${e.detail || e.code}`, true);
  }

  private outcome(r: Row, text: string, bad = false): void {
    r.outcome.textContent = text;
    r.outcome.hidden = false;
    r.outcome.dataset.kind = bad ? "error" : "result";
  }
}
