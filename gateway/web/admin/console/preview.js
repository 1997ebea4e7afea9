// Preview: an instance picked from the origin, before and after the role's rules (the edited text in the Roles
// section, if any): every attribute side by side, scrubbed spans marked, and the rendered image before and
// after the pixel rules.
import { $, api, el, problem, table } from "./api.js";
import { imagePair } from "./imagepair.js";
import { picker } from "./picker.js";
import { currentRole, currentText } from "./roles.js";

export const id = "preview";
export const title = "Preview";
let pick;
let images;

export function mount(root) {
  pick = picker("preview", () => { $("preview-status").textContent = ""; });
  images = imagePair("preview");
  root.append(
    pick.node,
    el("div", { class: "actions" },
      el("button", { id: "preview-run", onclick: run }, "Preview the edited rules"), " ",
      el("span", { id: "preview-status", role: "status" })),
    images.node,
    el("p", { class: "legend" }, "Rows: ", el("span", { class: "changed" }, "changed"), " ",
      el("span", { class: "removed" }, "removed"), " ", el("span", { class: "added" }, "added"), "; ",
      el("mark", { class: "scrubbed" }, "marked text"), " is what scrubbing takes out of free text."),
    table("diff", "Every attribute before and after", ["Tag", "Keyword", "Before", "After", "Change"]),
  );
}

async function run() {
  const choice = pick.choice();
  $("diff").fill([]);
  if (choice === null) { $("preview-status").textContent = "pick an instance first"; return; }
  const role = currentRole();
  const body = { ...choice.uids, text: currentText() };
  const [{ status, data }] = await Promise.all([
    api("POST", `/roles/${encodeURIComponent(role)}/preview`, body), images.show(role, choice.uids, body.text)]);
  if (status !== 200) { $("preview-status").textContent = problem(data); return; }
  if (data.withheld) {
    $("preview-status").textContent = `withheld: ${data.withheld} (role ${role} would not serve this instance)`;
    return;
  }
  const changed = data.rows.filter((r) => r.change !== "kept").length;
  $("preview-status").textContent = `profile ${data.profile_version}: ${changed} of ${data.rows.length} changed`;
  $("diff").fill(data.rows.map((r) => ({ cells: [r.tag + (r.path.includes("[") ? " " + r.path : ""), r.keyword,
    marked(r.before, r.spans), r.after, r.change], cls: r.change === "kept" ? "" : r.change })));
}

// The text with each scrubbed span in a <mark> (text nodes only); span offsets count code points.
export function marked(text, spans) {
  if (text === null || text === undefined || !spans || spans.length === 0) return text;
  const chars = Array.from(String(text));
  const out = el("span");
  let at = 0;
  for (const span of [...spans].sort((a, b) => a.start - b.start)) {
    if (span.start < at) continue;
    out.append(chars.slice(at, span.start).join(""));
    const now = span.replacement ? `replaced by ${span.replacement}` : "removed";
    out.append(el("mark", { class: "scrubbed", title: `${span.category}: ${now}` },
      chars.slice(span.start, span.end).join("")));
    at = span.end;
  }
  out.append(chars.slice(at).join(""));
  return out;
}
