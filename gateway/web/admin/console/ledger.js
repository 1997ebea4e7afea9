// Ledger: the latest disclosure and admin entries, and a check of the hash chain.
import { $, api, el, problem, table } from "./api.js";

export const id = "ledger";
export const title = "Ledger";

export function mount(root) {
  root.append(
    el("button", { id: "ledger-refresh", onclick: show }, "Latest entries"), " ",
    el("button", { id: "ledger-verify", onclick: verify }, "Verify chain"), " ",
    el("span", { id: "ledger-status", role: "status" }),
    table("ledger-list", "Ledger entries, newest first", ["#", "Time", "Actor", "Role", "Action", "Scope",
      "Pseudonymous", "Real"]),
  );
}

export async function show() {
  const { status, data } = await api("GET", "/ledger?limit=100");
  if (status !== 200) { $("ledger-status").textContent = problem(data); return; }
  $("ledger-list").fill(data.entries.slice().reverse().map((e) => [e.seq, e.time, e.actor, e.role, e.action,
    e.scope, JSON.stringify(e.pseudonymous), JSON.stringify(e.real)]));
}

async function verify() {
  const { status, data } = await api("GET", "/ledger/verify");
  $("ledger-status").textContent = status === 200 ? data.message : problem(data);
  $("ledger-status").className = status === 200 && data.intact ? "ok" : "error";
}
