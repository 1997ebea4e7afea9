// Opt-outs: register and withdraw them, list what each scope was given, and where each withdrawal stands.
import { $, api, el, problem, table } from "./api.js";

export const id = "optouts";
export const title = "Opt-outs";

function patient() {
  return { PatientID: $("optout-id").value.trim(), IssuerOfPatientID: $("optout-issuer").value.trim() };
}

export function mount(root) {
  root.append(
    el("label", {}, "PatientID ", el("input", { id: "optout-id", type: "text", autocomplete: "off" })), " ",
    el("label", {}, "Issuer ", el("input", { id: "optout-issuer", type: "text", autocomplete: "off" })),
    el("div", { class: "actions" },
      el("button", { id: "optout-add", onclick: () => change("POST", "/optouts") }, "Opt out"), " ",
      el("button", { id: "optout-remove", onclick: () => change("DELETE", "/optouts") }, "Withdraw opt-out"), " ",
      el("button", { id: "optout-disclosures", onclick: disclosures }, "Disclosures so far"), " ",
      el("button", { id: "optout-loop", onclick: loop }, "Withdrawal status")),
    el("div", { id: "optout-status", class: "error", role: "status" }),
    table("optout-list", "Patients who opted out", ["PatientID", "Issuer", "Since"]),
    el("pre", { id: "optout-detail" }),
    table("optout-withdrawals", "Withdrawal per scope", ["Scope", "Listed", "Identifiers",
      "Fetched by the recipient", "Acknowledged"]),
  );
  $("optout-withdrawals").hidden = true;
}

export async function show() {
  const { status, data } = await api("GET", "/optouts");
  if (status !== 200) { $("optout-status").textContent = problem(data); return; }
  $("optout-list").fill(data.map((o) => [o.PatientID, o.IssuerOfPatientID, o.added_at]));
}

async function change(method, path) {
  const { status, data } = await api(method, path, patient());
  $("optout-status").textContent = status < 300 ? (data.note || "") : problem(data);
  $("optout-detail").textContent = "";
  await show();
}

async function disclosures() {
  const { status, data } = await api("POST", "/optouts/disclosures", patient());
  $("optout-status").textContent = status < 300 ? "" : problem(data);
  $("optout-detail").textContent = status < 300 ? JSON.stringify(data, null, 1) : "";
}

async function loop() {
  // Per scope given the patient's data: its feed entry, and how far the recipient has come (null: not yet).
  const { status, data } = await api("POST", "/optouts/status", patient());
  $("optout-withdrawals").hidden = status !== 200;
  if (status !== 200) { $("optout-status").textContent = problem(data); return; }
  $("optout-status").textContent = data.withdrawals.length ? "" : "no scope was given data of this patient";
  $("optout-withdrawals").fill(data.withdrawals.map((w) => ({
    cells: [w.scope, w.listed_at, Object.entries(w.identifiers).map(([level, n]) => `${n} ${level}`).join(", "),
      w.fetched_at || "not yet", w.acknowledged_at || "not yet"],
    cls: w.acknowledged_at ? "" : "pending" })));
}
