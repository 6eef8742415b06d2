/**
 * Turns server data into DOM nodes for the demo page.
 *
 * Everything the server sends is shown as text (textContent, never
 * innerHTML): an agent's output is model-written and may contain markup.
 */

type Attrs = Record<string, string>;

/** `h("li", {class: "x"}, "text", child)`: a small element builder; strings become text nodes. */
export function h(tag: string, attrs: Attrs = {}, ...children: (Node | string | null)[]): HTMLElement {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  for (const c of children) if (c !== null) el.append(c);
  return el;
}

/** "agent_responses" → "Agent responses". */
export function humanize(key: string): string {
  const words = key.replace(/[_-]+/g, " ").trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** Fields that, when present, hold the main text of a response. */
const MAIN_TEXT = ["final_response", "response", "content", "summary", "output", "text", "answer"];
const MAX_DEPTH = 6;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The main text of a value, if it has one: itself when a string, else its first text-like field. */
export function mainText(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (!isRecord(value)) return undefined;
  for (const key of MAIN_TEXT) {
    const v = value[key];
    if (typeof v === "string" && v.trim() !== "") return v;
  }
  return undefined;
}

/** Any JSON value as nested, readable HTML: text as paragraphs, objects as definition lists. */
export function renderValue(value: unknown, depth = 0): Node {
  if (value === null || value === undefined) return h("span", { class: "muted" }, "—");
  if (typeof value === "string") return h("p", { class: "text" }, value);
  if (typeof value !== "object") return h("span", { class: "scalar" }, String(value));
  if (depth >= MAX_DEPTH) return h("pre", { class: "json" }, JSON.stringify(value, null, 2));
  if (Array.isArray(value)) {
    if (value.length === 0) return h("span", { class: "muted" }, "(none)");
    return h("ol", { class: "list" }, ...value.map((v) => h("li", {}, renderValue(v, depth + 1))));
  }
  const dl = h("dl", { class: "fields" });
  for (const [k, v] of Object.entries(value)) {
    dl.append(h("dt", {}, humanize(k)), h("dd", {}, renderValue(v, depth + 1)));
  }
  return dl;
}

/** The final response: its main text first, then every field, then the raw JSON. */
export function renderResponse(result: unknown): Node {
  const box = h("div", { class: "response" });
  const main = mainText(result);
  if (main !== undefined) box.append(h("p", { class: "main-text", "data-testid": "result-main" }, main));
  box.append(renderValue(result));
  box.append(
    h(
      "details",
      { class: "raw" },
      h("summary", {}, "Raw JSON"),
      h("pre", { class: "json" }, JSON.stringify(result, null, 2)),
    ),
  );
  return box;
}

export interface AgentOutput {
  agent: string;
  round?: number;
  index?: number;
  total?: number;
  response: unknown;
}

/** One agent's finished step, as a card in the outputs list. */
export function renderAgentOutput(o: AgentOutput): HTMLElement {
  const where = [
    o.index !== undefined && o.total !== undefined ? `step ${o.index} of ${o.total}` : "",
    o.round !== undefined ? `round ${o.round}` : "",
  ]
    .filter(Boolean)
    .join(" · ");
  const text = mainText(o.response);
  return h(
    "li",
    { class: "agent-output", "data-testid": "agent-output", "data-agent": o.agent },
    h("h3", {}, humanize(o.agent), where ? h("small", {}, ` ${where}`) : null),
    text !== undefined ? h("p", { class: "text" }, text) : renderValue(o.response),
  );
}
