// Opt-outs: find a patient at the origin, register or withdraw the opt-out, list what each scope was given
// (with a CSV for the withdrawal request), and where each withdrawal stands. Real values appear as text only,
// and only in the page: never in its URL or in storage.
import { $, api, download, el, problem, table } from "./api.js";

export const id = "optouts";
export const title = "Opt-outs";
const LEVELS = ["patients", "studies", "series", "instances"];
let disclosed = null; // the last disclosures answer, for the CSV

function patient() {
  return { PatientID: $("optout-id").value.trim(), IssuerOfPatientID: $("optout-issuer").value.trim() };
}

function say(text, ok = false) {
  $("optout-status").textContent = text;
  $("optout-status").className = ok ? "ok" : "error";
}

export function mount(root) {
  root.append(
    el("form", { id: "optout-find", "aria-label": "Find a patient at the origin", onsubmit: find },
      el("label", {}, "Find a patient (PatientID, accession or name prefix) ",
        el("input", { id: "optout-q", type: "search", autocomplete: "off", maxlength: "64" })), " ",
      el("button", { id: "optout-search", type: "submit" }, "Search")),
    table("optout-patients", "Patients found at the origin", ["Name", "PatientID", "Issuer", "Studies", "Pick"]),
    el("fieldset", {}, el("legend", {}, "Patient"),
      el("label", {}, "PatientID ", el("input", { id: "optout-id", type: "text", autocomplete: "off" })), " ",
      el("label", {}, "Issuer ", el("input", { id: "optout-issuer", type: "text", autocomplete: "off" })),
      el("div", { class: "actions" },
        el("button", { id: "optout-add", onclick: add }, "Opt out"), " ",
        el("button", { id: "optout-remove", onclick: remove }, "Withdraw opt-out"), " ",
        el("button", { id: "optout-disclosures", onclick: disclosures }, "Disclosures so far"), " ",
        el("button", { id: "optout-loop", onclick: loop }, "Withdrawal status"))),
    el("div", { id: "optout-status", class: "error", role: "status" }),
    el("p", { id: "optout-covered", role: "status" }),
    table("optout-feed", "Withdrawal feed written by this opt-out, per scope", ["Scope", "Identifiers listed"]),
    table("optout-disclosed", "Disclosed so far, per scope", ["Scope", "Patient pseudonym", "Studies", "Series",
      "Instances", "Ledger entries"]),
    el("div", { id: "optout-identifiers" }),
    el("button", { id: "optout-csv", onclick: exportCsv, disabled: true }, "Export CSV for the withdrawal request"),
    table("optout-withdrawals", "Withdrawal per scope", ["Scope", "Listed", "Identifiers",
      "Fetched by the recipient", "Acknowledged"]),
    table("optout-list", "Patients who opted out", ["PatientID", "Issuer", "Since"]),
  );
  for (const name of ["optout-patients", "optout-feed", "optout-disclosed", "optout-withdrawals"]) $(name).hidden = true;
}

export async function show() {
  const { status, data } = await api("GET", "/optouts");
  if (status !== 200) { say(problem(data)); return; }
  $("optout-list").fill(data.map((o) => [o.PatientID, o.IssuerOfPatientID, o.added_at]));
}

// The studies found, grouped by patient (PatientID and issuer), each with a button that fills the form.
async function find(event) {
  event.preventDefault();
  const q = $("optout-q").value.trim();
  if (!q) return;
  const { status, data } = await api("GET", "/origin/studies?" + new URLSearchParams({ q }));
  $("optout-patients").hidden = status !== 200;
  if (status !== 200) { say(problem(data)); return; }
  const patients = new Map();
  for (const s of data) {
    const key = JSON.stringify([s.PatientID, s.IssuerOfPatientID]);
    const known = patients.get(key) || { ...s, studies: 0 };
    known.studies += 1;
    patients.set(key, known);
  }
  say(patients.size ? "" : "no patient found at the origin");
  $("optout-patients").fill([...patients.values()].map((p) => [p.PatientName, p.PatientID, p.IssuerOfPatientID,
    p.studies, el("button", { class: "pick", "aria-label": `Pick ${p.PatientName || p.PatientID}`,
      onclick: () => pick(p) }, "Pick")]));
}

function pick(p) {
  $("optout-id").value = p.PatientID;
  $("optout-issuer").value = p.IssuerOfPatientID;
  say(`picked ${p.PatientName || p.PatientID}`, true);
  $("optout-add").focus();
}

async function add() {
  const { status, data } = await api("POST", "/optouts", patient());
  if (status >= 300) { say(problem(data)); return; }
  say(data.withdrawals_note || "", true);
  $("optout-covered").textContent = data.origin_studies === null ? data.note
    : `Opt-out in force: it covers ${data.origin_studies} stud${data.origin_studies === 1 ? "y" : "ies"} (${data.note})`;
  const feed = Object.entries(data.withdrawals || {});
  $("optout-feed").hidden = false;
  $("optout-feed").fill(feed.length ? feed.map(([scope, n]) => [scope, n]) : [["no scope was given data", 0]]);
  await show();
}


async function remove() {
  const { status, data } = await api("DELETE", "/optouts", patient());
  if (status >= 300) { say(problem(data)); return; }
  $("optout-covered").textContent = "";
  $("optout-feed").hidden = true;
  await show();  // the registry first: the status line says the change is done once the page shows it
  say(data.changed ? "opt-out withdrawn: the patient's studies are disclosed again" : "this patient had not opted out", true);
}

async function disclosures() {
  const { status, data } = await api("POST", "/optouts/disclosures", patient());
  disclosed = status === 200 ? data : null;
  $("optout-csv").disabled = disclosed === null;
  $("optout-disclosed").hidden = disclosed === null;
  $("optout-identifiers").replaceChildren();
  if (status !== 200) { say(problem(data)); return; }
  const scopes = Object.entries(data.scopes);
  say(scopes.length ? "" : "nothing of this patient was disclosed", true);
  const count = (levels, name) => (levels[name] || []).length;
  $("optout-disclosed").fill(scopes.map(([scope, levels]) => [scope, (levels.patients || []).join(", "),
    count(levels, "studies"), count(levels, "series"), count(levels, "instances"),
    (levels.entries || []).map(Number).sort((a, b) => a - b).join(", ")]));
  for (const [scope, levels] of scopes) {
    const rows = LEVELS.flatMap((level) => (levels[level] || []).map((value) => [level, value]));
    const list = table(`optout-given-${scope}`, `Identifiers given to ${scope}`, ["Level", "Identifier"]);
    list.fill(rows);
    $("optout-identifiers").append(el("details", {}, el("summary", {}, `${scope}: ${rows.length} identifiers`), list));
  }
}

// One row per scope and identifier: what a recipient is asked to withdraw, in the scope's own pseudonyms.
export function withdrawalCsv(answer) {
  const cell = (v) => `"${String(v).replaceAll('"', '""')}"`;
  const lines = [["scope", "level", "identifier"]];
  for (const [scope, levels] of Object.entries(answer.scopes)) {
    for (const level of LEVELS) for (const value of levels[level] || []) lines.push([scope, level, value]);
  }
  return lines.map((row) => row.map(cell).join(",")).join("\r\n") + "\r\n";
}

function exportCsv() {
  if (disclosed) download("withdrawal-request.csv", new Blob([withdrawalCsv(disclosed)], { type: "text/csv" }));
}

async function loop() {
  // Per scope given the patient's data: its feed entry, and how far the recipient has come (null: not yet).
  const { status, data } = await api("POST", "/optouts/status", patient());
  $("optout-withdrawals").hidden = status !== 200;
  if (status !== 200) { say(problem(data)); return; }
  say(data.withdrawals.length ? "" : "no scope was given data of this patient");
  $("optout-withdrawals").fill(data.withdrawals.map((w) => ({
    cells: [w.scope, w.listed_at, Object.entries(w.identifiers).map(([level, n]) => `${n} ${level}`).join(", "),
      w.fetched_at || "not yet", w.acknowledged_at || "not yet"],
    cls: w.acknowledged_at ? "" : "pending" })));
}
