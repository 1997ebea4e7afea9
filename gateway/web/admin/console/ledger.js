// Ledger: entries filtered on the server (role, scope, action, time, a real patient, a study), paged, a check
// of the hash chain that names the broken link, and the exports. A patient or study typed here is sent as a
// query parameter of the API call only: it never reaches the page URL or storage.
import { $, api, download, el, problem, table } from "./api.js";

export const id = "ledger";
export const title = "Ledger";
const PAGE = 50;
const FIELDS = ["role", "scope", "action", "from", "to", "patient", "study"];
const ACTIONS = ["disclose", "withdraw", "admin.optouts.add", "admin.optouts.remove", "admin.optouts.disclosures",
  "admin.ledger.browse", "admin.ledger.verify", "admin.ledger.export", "admin.reidentify", "admin.roles.update"];
const state = { entries: [], badSeq: null, page: {}, more: false };

function field(name, label, control) {
  control.id = `ledger-${name}`;
  control.name = name;
  return el("label", { class: "filter" }, label + " ", control);
}

export function mount(root) {
  const choice = () => el("select", {}, el("option", { value: "" }, "any"));
  const actions = el("datalist", { id: "ledger-actions" }, ACTIONS.map((a) => el("option", { value: a })));
  root.append(
    el("form", { id: "ledger-filter", "aria-label": "Filter the ledger", onsubmit: (e) => { e.preventDefault(); search({}); } },
      field("role", "Role", choice()),
      field("scope", "Scope", choice()),
      field("action", "Action", el("input", { type: "text", list: "ledger-actions", autocomplete: "off" })), actions,
      field("from", "From", el("input", { type: "datetime-local", step: "1" })),
      field("to", "To", el("input", { type: "datetime-local", step: "1" })),
      field("patient", "Patient (real PatientID)", el("input", { type: "text", autocomplete: "off", maxlength: "64" })),
      field("study", "Study (real or pseudonymous UID)", el("input", { type: "text", autocomplete: "off", maxlength: "64" })),
      el("div", { class: "actions" },
        el("button", { id: "ledger-search", type: "submit" }, "Search"), " ",
        el("button", { id: "ledger-clear", type: "button", onclick: clear }, "Clear filters"), " ",
        el("button", { id: "ledger-older", type: "button", onclick: older }, "Older"), " ",
        el("button", { id: "ledger-newer", type: "button", onclick: newer }, "Newer"))),
    el("div", { class: "actions" },
      el("button", { id: "ledger-verify", onclick: verify }, "Verify chain"), " ",
      el("button", { id: "ledger-export-csv", onclick: () => exportAs("csv") }, "Export CSV"), " ",
      el("button", { id: "ledger-export-json", onclick: () => exportAs("json") }, "Export JSON"), " ",
      el("span", { id: "ledger-status", role: "status" })),
    el("p", { id: "ledger-verdict", role: "alert" }),
    table("ledger-list", "Ledger entries, newest first", ["#", "Time", "Actor", "Role", "Action", "Scope",
      "Pseudonymous", "Real"]),
  );
}

export function signedIn(roles) {
  const fill = (name, values) => $(`ledger-${name}`).replaceChildren(el("option", { value: "" }, "any"),
    ...[...new Set(values)].sort().map((v) => el("option", { value: v }, v)));
  fill("role", [...roles.map((r) => r.role), "admin"]);
  fill("scope", roles.map((r) => r.scope).filter(Boolean));
}

export async function show() { await search({}); }

// The filters as query parameters of the API call; datetime-local is the browser's local time, sent as UTC.
function filters() {
  const query = {};
  for (const name of FIELDS) {
    const value = $(`ledger-${name}`).value.trim();
    if (!value) continue;
    query[name] = name === "from" || name === "to" ? new Date(value).toISOString() : value;
  }
  return query;
}

async function search(page) {
  const query = new URLSearchParams({ ...filters(), ...page, limit: String(PAGE) });
  const { status, data } = await api("GET", "/ledger?" + query);
  if (status !== 200) { say(problem(data), false); return; }
  state.entries = data.entries;
  state.page = page;
  state.more = data.more;
  say(data.entries.length ? `${data.entries.length} entries shown (ledger head: ${data.head})`
    : "no entry matches these filters", true);
  render();
}

function older() {
  if (!state.entries.length) return;
  search({ before: String(state.entries[0].seq) });
}

function newer() {
  if (!state.entries.length) return;
  search({ after: String(state.entries[state.entries.length - 1].seq) });
}

function clear() {
  for (const name of FIELDS) $(`ledger-${name}`).value = "";
  search({});
}

// Studies in full (they are what one filters by); a long list of series or instances as its count.
const brief = (ids) => Object.entries(ids || {}).map(([level, v]) =>
  level !== "studies" && v.length > 3 ? `${v.length} ${level}` : `${level}: ${v.join(", ")}`).join("; ");

function render() {
  $("ledger-list").fill(state.entries.slice().reverse().map((e) => ({
    cells: [e.seq, e.time, e.actor, e.role, e.action, e.scope, brief(e.pseudonymous), brief(e.real)],
    cls: e.seq === state.badSeq ? "broken" : undefined })));
  for (const row of $("ledger-list").querySelectorAll("tr.broken")) row.setAttribute("aria-label", "broken link");
}

function say(text, ok) {
  $("ledger-status").textContent = text;
  $("ledger-status").className = ok ? "" : "error";
}

async function verify() {
  const { status, data } = await api("GET", "/ledger/verify");
  const verdict = $("ledger-verdict");
  if (status !== 200) { verdict.textContent = problem(data); verdict.className = "error"; return; }
  state.badSeq = data.intact ? null : data.bad_seq;
  const inView = state.entries.some((e) => e.seq === state.badSeq);
  verdict.textContent = data.intact ? `Chain intact: ${data.message}`
    : `Chain broken at entry ${data.bad_seq}: ${data.problem}` + (inView ? " (highlighted below)" : " (not among the entries shown)");
  verdict.className = data.intact ? "ok" : "error";
  render();
}

async function exportAs(kind) {
  const { status, data } = await api("GET", `/ledger/export?format=${kind}`);
  if (status !== 200) { say(problem(data), false); return; }
  // The JSON export comes back parsed (api() reads JSON answers): written out again as the server sent it.
  const blob = data instanceof Blob ? data
    : new Blob([JSON.stringify(data, null, 1) + "\n"], { type: "application/json" });
  download(`ledger.${kind}`, blob);
}
