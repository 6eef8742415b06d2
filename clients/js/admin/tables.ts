/**
 * The console's tables. Rows are keyed (a job id, a worker id) and updated
 * in place on every poll, so a button keeps its state (an armed Cancel)
 * and nothing flickers. Server text goes in as text nodes only.
 */

import type { AdminJob, ListState, WorkerCard } from "./api.js";

export interface Column<T> {
  head: string;
  text: (row: T, now: number) => string;
  /** A tooltip with the whole value where the cell shows a shortened one. */
  title?: (row: T) => string;
  cls?: string;
  /** A fraction (0..1) the cell also shows as a bar, beside its text. */
  bar?: (row: T) => number;
}

export type Actions<T> = (row: T, cell: HTMLTableCellElement) => void;

/** "3 s", "4 min", "2 h" between two instants (ms). */
export function ago(then: string | null, now: number): string {
  if (then === null) return "";
  const s = Math.max(0, Math.round((now - Date.parse(then)) / 1000));
  if (s < 90) return `${s} s`;
  if (s < 90 * 60) return `${Math.round(s / 60)} min`;
  return `${Math.round(s / 3600)} h`;
}

export function shortId(id: string): string {
  return id.length > 8 ? id.slice(0, 8) : id;
}

export class KeyedTable<T> {
  private readonly rows = new Map<string, HTMLTableRowElement>();
  private readonly body: HTMLTableSectionElement;

  constructor(
    table: HTMLTableElement,
    private readonly columns: Column<T>[],
    private readonly key: (row: T) => string,
    private readonly testid: string,
    private readonly actions?: Actions<T>,
  ) {
    const head = table.createTHead().insertRow();
    for (const c of columns)
      head.append(Object.assign(document.createElement("th"), { textContent: c.head }));
    if (actions) head.append(Object.assign(document.createElement("th"), { textContent: "" }));
    this.body = table.tBodies[0] ?? table.createTBody();
  }

  /** Show exactly `items`, in order: new rows added, gone ones removed, the rest refreshed. */
  update(items: T[], now: number): void {
    const wanted = new Set(items.map(this.key));
    for (const [k, tr] of this.rows) {
      if (!wanted.has(k)) {
        tr.remove();
        this.rows.delete(k);
      }
    }
    items.forEach((item, i) => {
      const k = this.key(item);
      let tr = this.rows.get(k);
      if (tr === undefined) {
        tr = this.create(k);
        this.rows.set(k, tr);
      }
      this.fill(tr, item, now);
      if (this.body.rows[i] !== tr) this.body.insertBefore(tr, this.body.rows[i] ?? null);
    });
  }

  clear(): void {
    this.update([], 0);
  }

  private create(k: string): HTMLTableRowElement {
    const tr = document.createElement("tr");
    tr.dataset.testid = this.testid;
    tr.dataset.key = k;
    for (const c of this.columns) {
      const td = tr.insertCell();
      if (c.cls) td.className = c.cls;
      if (c.bar)
        td.append(
          Object.assign(document.createElement("progress"), { max: 1 }),
          document.createElement("span"),
        );
    }
    if (this.actions) tr.insertCell().className = "actions";
    return tr;
  }

  private fill(tr: HTMLTableRowElement, item: T, now: number): void {
    this.columns.forEach((c, i) => {
      const td = tr.cells[i];
      if (td === undefined) return;
      const text = c.text(item, now);
      const into = c.bar ? td.lastElementChild : td;
      if (into !== null && into.textContent !== text) into.textContent = text;
      if (c.bar) (td.firstElementChild as HTMLProgressElement).value = c.bar(item);
      if (c.title) td.title = c.title(item);
    });
    const last = tr.cells[this.columns.length];
    if (this.actions && last !== undefined) this.actions(item, last);
  }
}

export const WORKER_COLUMNS: Column<WorkerCard>[] = [
  { head: "Worker", text: (w) => w.id, cls: "mono" },
  { head: "Host", text: (w) => w.host },
  { head: "PID", text: (w) => (w.pid === null ? "" : String(w.pid)) },
  { head: "Running", text: (w) => `${w.running} / ${w.concurrency ?? "?"}` },
  { head: "Last heartbeat", text: (w) => `${w.heartbeat_age_s.toFixed(1)} s ago` },
  { head: "Up for", text: (w, now) => ago(w.started_at, now) },
];

const id: Column<AdminJob> = {
  head: "Job",
  text: (j) => shortId(j.job_id),
  title: (j) => j.job_id,
  cls: "mono",
};
const owner: Column<AdminJob> = { head: "Owner", text: (j) => j.owner };
const attempt: Column<AdminJob> = {
  head: "Attempt",
  text: (j) => `${j.attempt} / ${j.max_attempts}`,
};

function where(j: AdminJob): string {
  const st = j.step;
  const of = st?.index != null && st.total != null ? ` (${st.index} of ${st.total})` : "";
  return [st?.agent ? `${st.agent}${of}` : "", j.message].filter(Boolean).join(" — ");
}

/** The columns of each job list (the progress bar and buttons are added by the page). */
export const JOB_COLUMNS: Record<ListState, Column<AdminJob>[]> = {
  running: [
    id,
    owner,
    attempt,
    {
      head: "Progress",
      text: (j) => `${Math.round(j.progress * 100)}%`,
      bar: (j) => j.progress,
      cls: "progress",
    },
    { head: "Where", text: where },
    { head: "Worker", text: (j) => j.worker ?? "", cls: "mono" },
    { head: "Running for", text: (j, now) => ago(j.started_at, now) },
  ],
  orphaned: [
    id,
    owner,
    attempt,
    { head: "Lease lapsed", text: (j, now) => `${ago(j.lease_expires_at, now)} ago` },
    { head: "Lost worker", text: (j) => j.worker ?? "", cls: "mono" },
    { head: "Status", text: (j) => j.message },
  ],
  failed: [
    id,
    owner,
    attempt,
    { head: "Ended", text: (j, now) => `${ago(j.completed_at, now)} ago` },
    { head: "Code", text: (j) => j.error_code ?? "", cls: "mono" },
    { head: "Error", text: (j) => j.error_detail ?? j.error ?? "", cls: "error-text" },
  ],
  pending: [
    id,
    owner,
    { head: "Priority", text: (j) => j.priority },
    attempt,
    { head: "Waiting", text: (j, now) => ago(j.created_at, now) },
    { head: "Status", text: (j) => (j.due_at ? `${j.message} (retry due)` : j.message) },
  ],
};
