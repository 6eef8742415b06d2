/**
 * Turns server data into DOM nodes for the demo page.
 *
 * Everything the server sends is shown as text (textContent, never
 * innerHTML): an agent's output is model-written and may contain markup.
 */

type Attrs = Record<string, string>;

/** `h("li", {class: "x"}, "text", child)`: a small element builder; strings become text nodes. */
export function h(
  tag: string,
  attrs: Attrs = {},
  ...children: (Node | string | null)[]
): HTMLElement {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  for (const c of children) if (c !== null) el.append(c);
  return el;
}

const LABELS: Record<string, string> = {
  prd_authoring: "PRD authoring",
  rag: "RAG",
  v0: "v0",
};

/** "agent_interactions" → "Agent interactions". */
export function humanize(key: string): string {
  const known = LABELS[key];
  if (known !== undefined) return known;
  const words = key.replace(/[_-]+/g, " ").trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** Where a job is: "Research (step 2 of 7) — <its message>". */
export function stepText(s: {
  step?: { agent?: string | null; index?: number | null; total?: number | null } | null;
  message?: string;
}): string {
  const step = s.step;
  const of =
    step?.index != null && step.total != null ? ` (step ${step.index} of ${step.total})` : "";
  const where = step?.agent != null ? `${humanize(step.agent)}${of}` : "";
  return [where, s.message].filter(Boolean).join(" — ");
}

/** Fields that, when present, hold the main text of a response. */
const MAIN_TEXT = ["response", "final_response", "content", "summary", "output", "text", "answer"];
const MAX_DEPTH = 6;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The field holding a value's main text, if it has one. */
function mainKey(value: Record<string, unknown>): string | undefined {
  return MAIN_TEXT.find((k) => typeof value[k] === "string" && (value[k] as string).trim() !== "");
}

/** The main text of a value: itself when a string, else its first text-like field. */
export function mainText(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (!isRecord(value)) return undefined;
  const key = mainKey(value);
  return key === undefined ? undefined : (value[key] as string);
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

/** One agent interaction of a MultiAgentResponse, folded: who asked whom, then the answer. */
function renderInteraction(i: Record<string, unknown>): Node {
  const who = `${humanize(String(i.from_agent ?? "?"))} → ${humanize(String(i.to_agent ?? "?"))}`;
  const rest = Object.fromEntries(
    Object.entries(i).filter(([k]) => !["from_agent", "to_agent", "response"].includes(k)),
  );
  return h(
    "details",
    { class: "interaction" },
    h("summary", {}, who),
    typeof i.response === "string" ? h("p", { class: "text" }, i.response) : null,
    renderValue(rest, 1),
  );
}

/**
 * The final response (a MultiAgentResponse): its main text first, the
 * agent interactions folded, every other field as a list, then the raw JSON.
 * Unknown shapes still render, through the generic path.
 */
export function renderResponse(result: unknown): Node {
  const box = h("div", { class: "response" });
  if (!isRecord(result)) {
    box.append(renderValue(result));
    return box;
  }
  const key = mainKey(result);
  if (key !== undefined) {
    box.append(h("p", { class: "main-text", "data-testid": "result-main" }, result[key] as string));
  }
  const interactions = result.agent_interactions;
  if (Array.isArray(interactions) && interactions.every(isRecord)) {
    box.append(
      h("h3", {}, `Agent interactions (${interactions.length})`),
      h(
        "div",
        { class: "interactions", "data-testid": "interactions" },
        ...interactions.map(renderInteraction),
      ),
    );
  }
  const rest = Object.fromEntries(
    Object.entries(result).filter(
      ([k]) => k !== key && !(k === "agent_interactions" && Array.isArray(interactions)),
    ),
  );
  box.append(renderValue(rest));
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
