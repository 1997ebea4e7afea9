// Roles: a role's profile as YAML, validated against the server's own compiler, and saved with its version.
import { $, api, el, problem } from "./api.js";

export const id = "rules";
export const title = "Roles";
const state = { role: null, version: 0 };

export function mount(root) {
  root.append(
    el("label", {}, "Role ", el("select", { id: "role", onchange: load })), " ",
    el("span", { id: "role-info" }),
    el("label", { class: "block" }, "Profile (YAML)",
      el("textarea", { id: "profile", spellcheck: "false", rows: "22" })),
    el("div", { id: "profile-error", class: "error", role: "alert" }),
    el("button", { id: "validate", onclick: validate }, "Validate"), " ",
    el("button", { id: "save", onclick: save }, "Save"), " ",
    el("span", { id: "save-status", role: "status" }),
  );
}

export async function signedIn(list) {
  const select = $("role");
  select.replaceChildren(...list.map((r) => new Option(r.role, r.role)));
  if (state.role && list.some((r) => r.role === state.role)) select.value = state.role;
  await load();
}

export function currentRole() { return state.role; }
export function currentText() { return $("profile").value; }
export async function reload() { await load(); }

async function load() {
  state.role = $("role").value;
  const { status, data } = await api("GET", "/roles/" + encodeURIComponent(state.role));
  if (status !== 200) { $("profile-error").textContent = problem(data); return; }
  state.version = data.version;
  $("profile").value = data.text;
  $("profile-error").textContent = "";
  $("role-info").textContent = `version ${data.version}, profile ${data.profile_version}` +
    (data.scope ? `, scope ${data.scope} (${data.reversible ? "reversible" : "irreversible"})` : ", identity");
}

async function validate() {
  const { status, data } = await api("POST", `/roles/${encodeURIComponent(state.role)}/validate`,
    { text: $("profile").value });
  $("profile-error").textContent = status === 200 ? "" : problem(data);
  $("save-status").textContent = status === 200 ? `valid (profile ${data.profile_version})` : "";
}

async function save() {
  const { status, data } = await api("PUT", "/roles/" + encodeURIComponent(state.role),
    { text: $("profile").value, base_version: state.version });
  if (status !== 200) { $("profile-error").textContent = problem(data); $("save-status").textContent = ""; return; }
  $("profile-error").textContent = "";
  $("save-status").textContent = `saved as version ${data.version} (profile ${data.profile_version})`;
  $("save-status").className = "ok";
  await load();
}
