// The console shell: sign-in, the section tabs (arrow keys move between them), and each section's module.
import { $, api, credential, el, problem, setCredential } from "./api.js";
import * as overview from "./overview.js";
import { finishOidc, oidcConfig, startOidc } from "./signin.js";
import * as roles from "./roles.js";
import * as preview from "./preview.js";
import * as pixels from "./pixels.js";
import * as optouts from "./optouts.js";
import * as ledger from "./ledger.js";

const SECTIONS = [overview, roles, preview, pixels, optouts, ledger];
let current = null;

function buildTabs() {
  const nav = document.querySelector("nav");
  const main = $("sections");
  for (const section of SECTIONS) {
    const tab = el("button", { role: "tab", id: `tab-${section.id}`, "data-tab": section.id,
      "aria-controls": section.id, tabindex: "-1", onclick: () => show(section.id) }, section.title);
    nav.append(tab);
    const root = el("section", { id: section.id, role: "tabpanel", "aria-labelledby": `tab-${section.id}`,
      hidden: true }, el("h2", {}, section.title));
    main.append(root);
    section.mount(root);
  }
  nav.addEventListener("keydown", (event) => {
    const ids = SECTIONS.map((s) => s.id);
    const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
    if (step === undefined || current === null) return;
    const next = ids[(ids.indexOf(current) + step + ids.length) % ids.length];
    show(next);
    $(`tab-${next}`).focus();
  });
}

export function show(id) {
  current = id;
  for (const section of SECTIONS) {
    const active = section.id === id;
    $(section.id).hidden = !active;
    const tab = $(`tab-${section.id}`);
    tab.setAttribute("aria-selected", String(active));
    tab.tabIndex = active ? 0 : -1;
    tab.classList.toggle("active", active);
  }
  const section = SECTIONS.find((s) => s.id === id);
  if (credential() && section.show) section.show();
}

async function signedIn() {
  const { status, data } = await api("GET", "/roles");
  $("login-status").textContent = status === 200 ? "signed in" : problem(data);
  $("logout").hidden = status !== 200;
  if (status !== 200) return;
  for (const section of SECTIONS) if (section.signedIn) await section.signedIn(data);
  show(current || SECTIONS[0].id);
}

$("login").addEventListener("submit", (event) => {
  event.preventDefault();
  setCredential($("key").value);
  $("key").value = "";
  signedIn();
});
$("logout").addEventListener("click", () => { setCredential(""); location.reload(); });

async function start() {
  buildTabs();
  show(SECTIONS[0].id);
  const oidc = await oidcConfig();
  if (oidc) {
    $("oidc-login").hidden = false;
    $("oidc-login").addEventListener("click", () => startOidc(oidc));
  }
  const token = await finishOidc(oidc);
  if (token) setCredential(token);
  if (credential()) await signedIn();
}

start();
