// The studio page's script, plain browser JavaScript kept as text (no build step, no CDN): it routes
// on the URL, reads the JSON API, follows a run's events over SSE and builds decision forms from
// JSON Schema. Written without template literals so it can live inside this one.

/**
 * The script inlined in the studio page.
 *
 * @example
 * const page = `<script>${studioScript}</script>`
 */
export const studioScript = String.raw`
"use strict";
const app = document.getElementById("app");
const token = new URLSearchParams(location.search).get("token");
const api = (path, init) => fetch(path, init).then(async (response) => ({ status: response.status, body: await response.json().catch(() => ({})) }));
const h = (tag, attributes, ...children) => {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else element.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) if (child !== undefined && child !== null) element.append(child instanceof Node ? child : String(child));
  return element;
};
const ms = (value) => value === undefined || value === null ? "–" : value < 1000 ? Math.round(value) + "ms" : value < 60000 ? (value / 1000).toFixed(2) + "s" : Math.floor(value / 60000) + "m" + Math.round((value % 60000) / 1000) + "s";
const age = (at) => at === undefined ? "–" : ms(Date.now() - at) + " ago";
const cost = (row) => row.unpricedCalls > 0 ? (row.costUsd > 0 ? "$" + row.costUsd.toFixed(4) + " + unpriced" : "unpriced") : "$" + row.costUsd.toFixed(row.costUsd > 0 && row.costUsd < 0.01 ? 5 : 2);
let stopLive = () => {};
const go = (path) => { history.pushState(null, "", path); route(); };
document.addEventListener("click", (event) => {
  const link = event.target.closest && event.target.closest("a[href^='/']");
  if (!link || event.metaKey || event.ctrlKey) return;
  event.preventDefault();
  go(link.getAttribute("href"));
});
window.addEventListener("popstate", () => route());

const route = () => {
  stopLive();
  stopLive = () => {};
  for (const link of document.querySelectorAll("nav a")) link.classList.toggle("here", link.getAttribute("href") === location.pathname);
  const run = /^\/runs\/([^/]+)$/.exec(location.pathname);
  if (run) return showRun(decodeURIComponent(run[1]));
  if (location.pathname === "/inbox") return showInbox();
  return showRuns();
};

// ── Runs list ──────────────────────────────────────────────────────────────────────────────
const listState = { status: "", q: "", offset: 0, limit: 50 };
const showRuns = async () => {
  const query = new URLSearchParams({ offset: String(listState.offset), limit: String(listState.limit) });
  if (listState.status) query.set("status", listState.status);
  if (listState.q) query.set("q", listState.q);
  const { status, body } = await api("/api/runs?" + query);
  if (status !== 200) { app.replaceChildren(h("p", { class: "error" }, body.error || "cannot list runs")); return; }
  const select = h("select", { "data-testid": "status-filter", onchange: (event) => { listState.status = event.target.value; listState.offset = 0; showRuns(); } },
    ["", "running", "awaiting-human", "done", "failed", "stopped"].map((value) => h("option", { value, selected: value === listState.status }, value || "any status")));
  const search = h("input", { type: "search", placeholder: "run id or pipeline", value: listState.q, "data-testid": "search",
    onchange: (event) => { listState.q = event.target.value; listState.offset = 0; showRuns(); } });
  const rows = body.runs.map((row) => h("tr", { class: "clickable", "data-run": row.runId, onclick: () => go("/runs/" + encodeURIComponent(row.runId)) },
    h("td", {}, h("a", { href: "/runs/" + encodeURIComponent(row.runId) }, row.runId)), h("td", {}, row.pipeline),
    h("td", { class: "status status-" + row.status }, row.status), h("td", {}, age(row.startedAt)), h("td", {}, ms(row.durationMs)),
    h("td", {}, row.inputTokens + "/" + row.outputTokens), h("td", {}, cost(row))));
  const last = Math.min(body.total, body.offset + body.runs.length);
  app.replaceChildren(
    h("h1", {}, "Runs"),
    h("div", { class: "toolbar" }, select, search),
    h("table", { "data-testid": "runs" }, h("thead", {}, h("tr", {}, ["run", "pipeline", "status", "started", "duration", "tokens in/out", "cost"].map((name) => h("th", {}, name)))), h("tbody", {}, rows)),
    h("div", { class: "pager" },
      h("button", { disabled: body.offset === 0, onclick: () => { listState.offset = Math.max(0, listState.offset - listState.limit); showRuns(); } }, "← newer"),
      h("span", {}, body.total === 0 ? "no runs" : (body.offset + 1) + "–" + last + " of " + body.total),
      h("button", { disabled: last >= body.total, onclick: () => { listState.offset += listState.limit; showRuns(); } }, "older →")));
};

// ── Decision forms, from JSON Schema ─────────────────────────────────────────────────────────
const fieldFor = (name, schema) => {
  const type = Array.isArray(schema.type) ? schema.type.find((each) => each !== "null") : schema.type;
  if (Array.isArray(schema.enum)) return { input: h("select", { name }, schema.enum.map((value) => h("option", { value: JSON.stringify(value) }, String(value)))), read: (element) => JSON.parse(element.value) };
  if (type === "boolean") return { input: h("input", { type: "checkbox", name }), read: (element) => element.checked };
  if (type === "number" || type === "integer") return { input: h("input", { type: "number", name, step: type === "integer" ? "1" : "any" }), read: (element) => element.value === "" ? undefined : Number(element.value) };
  if (type === "string") return { input: h("input", { type: "text", name }), read: (element) => element.value };
  return { input: h("textarea", { name, placeholder: "JSON" }), read: (element) => element.value.trim() === "" ? undefined : JSON.parse(element.value) };
};
const decisionForm = (wait, onDone) => {
  const schema = wait.schema || {};
  const properties = schema.type === "object" && schema.properties ? Object.entries(schema.properties) : undefined;
  const errors = new Map();
  const fields = [];
  const form = h("form", { "data-testid": "decision-form", "data-step": wait.step });
  const general = h("p", { class: "field-error", "data-field": "(root)" });
  if (properties) {
    for (const [name, property] of properties) {
      const field = fieldFor(name, property);
      const error = h("span", { class: "field-error", "data-field": name });
      errors.set(name, error);
      fields.push([name, field]);
      form.append(h("label", {}, name + (property.description ? " — " + property.description : "") + " ", field.input, " ", error));
    }
  } else {
    const field = fieldFor("decision", {});
    fields.push([undefined, field]);
    form.append(h("label", {}, "decision (JSON) ", field.input));
  }
  const button = h("button", { type: "submit" }, "Decide");
  form.append(general, button);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    for (const error of errors.values()) error.textContent = "";
    general.textContent = "";
    let decision = {};
    try {
      for (const [name, field] of fields) {
        const value = field.read(field.input);
        if (name === undefined) decision = value;
        else if (value !== undefined) decision[name] = value;
      }
    } catch (error) { general.textContent = "not JSON: " + error.message; return; }
    button.disabled = true;
    const { status, body } = await api("/api/runs/" + encodeURIComponent(wait.runId) + "/decisions", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ step: wait.step, decision }) });
    button.disabled = false;
    if (status === 202) { form.replaceChildren(h("p", { class: "notice" }, "Decided; the run goes on.")); onDone(); return; }
    const issues = body.issues || [];
    for (const issue of issues) (errors.get(issue.path) || general).append(issue.message + " ");
    if (issues.length === 0) general.textContent = body.error || "refused";
  });
  return form;
};
const waitCard = (wait, onDone, withRun) => h("div", { class: "wait", "data-testid": "wait", "data-run": wait.runId, "data-step": wait.step },
  h("strong", {}, wait.step), withRun ? [" in ", h("a", { href: "/runs/" + encodeURIComponent(wait.runId) }, wait.runId), wait.pipeline ? " (" + wait.pipeline + ")" : ""] : "",
  wait.prompt ? h("p", {}, wait.prompt) : "",
  h("p", { class: "notice" }, "waiting since " + age(wait.since) + (wait.deadline ? " · deadline " + new Date(wait.deadline).toLocaleString() : "")),
  decisionForm(wait, onDone));

const showInbox = async () => {
  const { body } = await api("/api/pending");
  const waits = body.waits || [];
  app.replaceChildren(h("h1", {}, "Inbox"), waits.length === 0 ? h("p", { class: "notice" }, "Nothing waits on a decision.") : "", waits.map((wait) => waitCard(wait, () => {}, true)));
};

// ── One run ────────────────────────────────────────────────────────────────────────────────
const describe = (entry) => {
  const parts = [h("h3", {}, entry.type + " · seq " + entry.seq)];
  const show = (label, value) => { if (value !== undefined) parts.push(h("div", {}, h("b", {}, label)), h("pre", {}, typeof value === "string" ? value : JSON.stringify(value, null, 2))); };
  if (entry.type === "model.called") {
    show("model", entry.provider + " " + entry.model + " · " + ms(entry.durationMs));
    show("prompt", entry.messages || entry.conversation);
    show("response", entry.response);
    show("usage", entry.usage);
  } else if (entry.type === "tool.called") {
    show("tool", entry.tool || entry.name);
    show("arguments", entry.args);
    show("result", entry.result);
  } else if (entry.type === "step.finished") {
    show("output", entry.output);
    show("usage", entry.usage);
  } else if (entry.type === "human.decided") show("decision", entry.decision);
  else if (entry.type === "human.waiting") show("prompt", entry.prompt);
  if (entry.error) {
    const chain = [];
    for (let error = entry.error; error; error = error.cause) chain.push((error._tag || error.name || "Error") + ": " + error.message);
    show("error", chain.join("\n  caused by "));
  }
  return parts;
};
// A failed run continues from the step that failed (finished steps come from the journal).
const retryButton = (runId) => {
  const notice = h("span", { class: "error" });
  const button = h("button", { "data-testid": "retry", onclick: async () => {
    button.disabled = true;
    const { status, body } = await api("/api/runs/" + encodeURIComponent(runId) + "/retry", { method: "POST" });
    button.disabled = false;
    notice.textContent = status === 202 ? "" : body.error || "refused";
  } }, "Retry from the failed step");
  return h("p", {}, button, " ", notice);
};
const showRun = async (runId) => {
  let selected;
  let live = true;
  const details = h("aside", { class: "details", "data-testid": "details" }, h("p", { class: "notice" }, "Click a step in the chart or the timeline for its calls."));
  const header = h("header", {});
  const chart = h("section", { class: "chart", "data-testid": "chart" });
  const timeline = h("section", { class: "timeline" });
  const waits = h("section", { "data-testid": "run-waits" });
  app.replaceChildren(h("p", { class: "notice" }, "Loading run " + runId + "…"));
  let data;
  let waitsKey;
  const select = (step, visit) => {
    selected = { step, visit };
    const entries = data.entries.filter((entry) => entry.step === step && (visit === undefined || entry.visit === visit));
    details.replaceChildren(h("h2", {}, step + (visit === undefined ? "" : " · visit " + visit)), ...(entries.length === 0 ? [h("p", { class: "notice" }, "nothing journaled yet")] : entries.flatMap(describe)));
    for (const row of timeline.querySelectorAll("tr[data-step]")) row.classList.toggle("selected", row.dataset.step === step && (visit === undefined || Number(row.dataset.visit) === visit));
  };
  const draw = async () => {
    const { status, body } = await api("/api/runs/" + encodeURIComponent(runId));
    if (status === 404) { live = false; app.replaceChildren(h("h1", {}, "No such run"), h("p", { class: "error", "data-testid": "not-found" }, body.error), h("a", { href: "/" }, "All runs")); return; }
    data = body;
    const run = body.run;
    header.replaceChildren(h("h1", {}, run.pipeline + " · run " + run.runId),
      h("dl", { class: "summary" }, [["status", run.status], ["duration", ms(run.durationMs)], ["steps", String(body.visits.length)], ["tokens", run.inputTokens + " in / " + run.outputTokens + " out"], ["cost", cost(run)]].map(([name, value]) =>
        h("div", {}, h("dt", {}, name), h("dd", name === "status" ? { class: "status status-" + value, "data-testid": "run-status" } : {}, value)))),
      run.status === "failed" ? retryButton(runId) : "");
    chart.innerHTML = body.chart || "<p class='notice'>Start the studio with this run's pipeline file to see its chart.</p>";
    for (const node of chart.querySelectorAll(".node[data-step]")) node.addEventListener("click", () => select(node.getAttribute("data-step")));
    const end = Math.max(1, run.durationMs || 0, ...body.visits.map((visit) => visit.startMs + (visit.durationMs || 0)));
    timeline.replaceChildren(h("h2", {}, "Timeline"), h("table", { "data-testid": "timeline" },
      h("thead", {}, h("tr", {}, ["step", "visit", "start", "duration", "when", "attempts", "status", "tokens"].map((name) => h("th", name === "when" ? { class: "bar-column" } : {}, name)))),
      h("tbody", {}, body.visits.map((visit) => {
        const duration = visit.durationMs === undefined || visit.durationMs === null ? (visit.status === "waiting" || visit.status === "running" ? end - visit.startMs : 0) : visit.durationMs;
        const left = (visit.startMs / end) * 100;
        return h("tr", { class: "clickable status-" + visit.status, "data-step": visit.step, "data-visit": visit.visit, onclick: () => select(visit.step, visit.visit) },
          h("td", {}, visit.step), h("td", {}, visit.visit), h("td", {}, "+" + ms(visit.startMs)), h("td", {}, visit.durationMs === undefined ? (visit.status === "waiting" ? "waiting " + ms(duration) : "–") : ms(visit.durationMs)),
          h("td", { class: "bar-column" }, h("div", { class: "track" }, h("div", { class: "bar", style: "left:" + left.toFixed(2) + "%;width:" + Math.max(0.5, Math.min((duration / end) * 100, 100 - left)).toFixed(2) + "%" }))),
          h("td", {}, visit.attempts), h("td", {}, visit.status), h("td", {}, visit.inputTokens + "/" + visit.outputTokens));
      }))));
    // Redrawn only when the open waits change, so a form half filled in survives live updates.
    const key = JSON.stringify(body.waits.map((wait) => wait.step + "#" + wait.visit));
    if (key !== waitsKey) waits.replaceChildren(...(body.waits.length === 0 ? [] : [h("h2", {}, "Waiting on a decision"), ...body.waits.map((wait) => waitCard(wait, () => {}, false))]));
    waitsKey = key;
    if (!app.contains(header)) app.replaceChildren(header, waits, h("div", { class: "layout" }, h("div", {}, chart, timeline), details));
    if (selected) select(selected.step, selected.visit);
  };
  await draw();
  if (!live) return;
  // Follow the run: every journaled entry redraws it (at most once per animation frame).
  let lastSeq = data.entries.length === 0 ? -1 : data.entries[data.entries.length - 1].seq;
  const source = new EventSource("/api/runs/" + encodeURIComponent(runId) + "/events?after=" + lastSeq + (token ? "&token=" + encodeURIComponent(token) : ""));
  let pending = false;
  source.addEventListener("entry", (event) => {
    lastSeq = Number(event.lastEventId);
    if (pending) return;
    pending = true;
    setTimeout(async () => {
      pending = false;
      await draw();
    }, 30);
  });
  stopLive = () => source.close();
};
route();
`
