// Roles: a role's profile as a form beside its YAML (the advanced view), kept in sync through the server (the
// browser has no YAML parser), validated live against the server's own compiler, and saved with its version.
import { $, api, el, problem } from "./api.js";
import { buildForm, readForm } from "./roles_form.js";

export const id = "rules";
export const title = "Roles";
const DEBOUNCE_MS = 400;
const state = { role: null, version: 0, identity: false, data: null, schema: null, seq: 0,
  formTimer: null, yamlTimer: null, running: Promise.resolve() };

export function mount(root) {
  const form = el("form", { id: "profile-form", class: "profile-form", "aria-label": "Profile form",
    onsubmit: (event) => event.preventDefault(), oninput: formEdited, onchange: formEdited },
  el("div", { id: "form-fields" }, "Sign in to see the role's profile."));
  root.append(
    el("div", { class: "actions" },
      el("label", {}, "Role ", el("select", { id: "role", onchange: load })), " ",
      el("span", { id: "role-info" })),
    el("p", { class: "note" }, "The form and the YAML are one profile: editing either updates the other. ",
      "Saving after a form edit stores the YAML the form wrote, without the file's comments; ",
      "edit the YAML (advanced view) to keep them."),
    el("div", { class: "editor" },
      el("div", {}, el("h3", {}, "Form"), form,
        el("div", { id: "form-error", class: "error", role: "alert" })),
      el("div", {}, el("h3", {}, "YAML (advanced view)"),
        el("label", { class: "block" }, "Profile (YAML)",
          el("textarea", { id: "profile", spellcheck: "false", rows: "30", oninput: yamlEdited })),
        el("div", { id: "profile-error", class: "error", role: "alert" }))),
    el("div", { class: "actions" },
      el("button", { id: "validate", type: "button", onclick: validate }, "Validate"), " ",
      el("button", { id: "save", type: "button", onclick: save }, "Save"), " ",
      el("span", { id: "save-status", role: "status" }), " ",
      el("span", { id: "live-status", role: "status" })),
    el("datalist", { id: "dictionary" }),
  );
}

export async function signedIn(list) {
  if (!state.schema) {
    const { status, data } = await api("GET", "/profile-schema");
    if (status !== 200) { $("form-error").textContent = problem(data); return; }
    state.schema = data;
  }
  const select = $("role");
  select.replaceChildren(...list.map((r) => new Option(r.role, r.role)));
  if (state.role && list.some((r) => r.role === state.role)) select.value = state.role;
  await load();
}

export function currentRole() { return state.role; }
export function currentText() { return $("profile").value; }
export async function reload() { await load(); }

async function load() {
  cancelTimers();
  state.role = $("role").value;
  const seq = ++state.seq;
  const { status, data } = await api("GET", "/roles/" + encodeURIComponent(state.role));
  if (seq !== state.seq) return;
  if (status !== 200) { $("profile-error").textContent = problem(data); return; }
  state.version = data.version;
  state.identity = data.identity;
  $("profile").value = data.text;
  showProblem(null);
  $("live-status").textContent = "";
  $("role-info").textContent = `version ${data.version}, profile ${data.profile_version}` +
    (data.scope ? `, scope ${data.scope} (${data.reversible ? "reversible" : "irreversible"})` : ", identity");
  await fromYaml(seq, false);
}

// -- keeping the two views in step --------------------------------------------------------------------------
function formEdited(event) {
  if (event && event.target && event.target.id === "profile") return;
  clearTimeout(state.formTimer);
  clearTimeout(state.yamlTimer);
  state.yamlTimer = null;
  state.formTimer = setTimeout(() => run(fromForm), DEBOUNCE_MS);
  $("live-status").textContent = "editing…";
}

function yamlEdited(event) {
  event.stopPropagation();
  clearTimeout(state.yamlTimer);
  clearTimeout(state.formTimer);
  state.formTimer = null;
  state.yamlTimer = setTimeout(() => run((seq) => fromYaml(seq, true)), DEBOUNCE_MS);
  $("live-status").textContent = "editing…";
}

function run(step) {
  state.formTimer = state.yamlTimer = null;
  state.running = state.running.then(() => step(++state.seq)).catch(() => {
    $("live-status").textContent = "the gateway did not answer; edit again to retry";
  });
  return state.running;
}

function cancelTimers() {
  clearTimeout(state.formTimer);
  clearTimeout(state.yamlTimer);
  state.formTimer = state.yamlTimer = null;
}

// Whatever edit is still waiting for its debounce runs now, and everything under way finishes.
async function flush() {
  if (state.formTimer) { clearTimeout(state.formTimer); run(fromForm); }
  if (state.yamlTimer) { clearTimeout(state.yamlTimer); run((seq) => fromYaml(seq, true)); }
  await state.running;
}

// The form changed: the server writes its YAML into the advanced view, then the compiler judges it.
async function fromForm(seq) {
  const data = readForm($("form-fields"), state);
  const { status, data: answer } = await api("POST", `/roles/${encodeURIComponent(state.role)}/yaml`, { data });
  if (seq !== state.seq) return;
  if (status !== 200) { showProblem(answer); return; }
  state.data = data;
  $("profile").value = answer.text;
  await check(seq);
}

// The YAML changed (or was loaded): the server reads it into data, the form is drawn again from it.
async function fromYaml(seq, live) {
  const { status, data } = await api("POST", `/roles/${encodeURIComponent(state.role)}/form`,
    { text: $("profile").value });
  if (seq !== state.seq) return;
  if (status !== 200) {
    showProblem(data, "The form shows the last YAML it could read. ");
    return;
  }
  state.data = data.data;
  buildForm($("form-fields"), state, formEdited);
  if (live) await check(seq);
}

async function check(seq) {
  const { status, data } = await api("POST", `/roles/${encodeURIComponent(state.role)}/validate`,
    { text: $("profile").value });
  if (seq !== state.seq) return;
  showProblem(status === 200 ? null : data);
  $("live-status").textContent = status === 200 ? `checked: valid (profile ${data.profile_version})`
    : "checked: not valid";
}

// The compiler's answer names the key; it shows beside the form and beside the YAML, and marks the field.
function showProblem(data, prefix = "") {
  const text = data ? prefix + problem(data) : "";
  $("form-error").textContent = text;
  $("profile-error").textContent = data ? problem(data) : "";
  for (const node of $("form-fields").querySelectorAll("[aria-invalid=true]")) node.removeAttribute("aria-invalid");
  if (!data || typeof data.key !== "string") return;
  let best = null;
  for (const node of $("form-fields").querySelectorAll("[data-key]")) {
    const key = node.dataset.key;
    if ((data.key === key || data.key.startsWith(key + ".")) && (!best || key.length > best.dataset.key.length)) {
      best = node;
    }
  }
  if (best) best.setAttribute("aria-invalid", "true");
}

// -- the buttons -------------------------------------------------------------------------------------------
async function validate() {
  await flush();
  const { status, data } = await api("POST", `/roles/${encodeURIComponent(state.role)}/validate`,
    { text: $("profile").value });
  $("profile-error").textContent = status === 200 ? "" : problem(data);
  $("form-error").textContent = status === 200 ? "" : problem(data);
  $("save-status").textContent = status === 200 ? `valid (profile ${data.profile_version})` : "";
}

async function save() {
  await flush();
  const { status, data } = await api("PUT", "/roles/" + encodeURIComponent(state.role),
    { text: $("profile").value, base_version: state.version });
  if (status !== 200) { showProblem(data); $("save-status").textContent = ""; return; }
  showProblem(null);
  $("save-status").textContent = `saved as version ${data.version} (profile ${data.profile_version})`;
  $("save-status").className = "ok";
  await load();
}
