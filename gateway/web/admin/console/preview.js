// Preview: an instance before and after the role's rules (the edited text in the Roles section, if any).
import { $, api, el, problem, table } from "./api.js";
import { currentRole, currentText } from "./roles.js";

export const id = "preview";
export const title = "Preview";

export function mount(root) {
  root.append(
    el("label", { class: "block" }, "StudyInstanceUID ", el("input", { id: "study", type: "text" })),
    el("label", { class: "block" }, "SeriesInstanceUID ", el("input", { id: "series", type: "text" })),
    el("label", { class: "block" }, "SOPInstanceUID ", el("input", { id: "instance", type: "text" })),
    el("button", { id: "preview-run", onclick: run }, "Preview the edited rules"), " ",
    el("span", { id: "preview-status", role: "status" }),
    table("diff", "Every attribute before and after", ["Tag", "Keyword", "Before", "After"]),
  );
}

async function run() {
  const body = { StudyInstanceUID: $("study").value.trim(), SeriesInstanceUID: $("series").value.trim(),
    SOPInstanceUID: $("instance").value.trim(), text: currentText() };
  const { status, data } = await api("POST", `/roles/${encodeURIComponent(currentRole())}/preview`, body);
  $("diff").fill([]);
  if (status !== 200) { $("preview-status").textContent = problem(data); return; }
  if (data.withheld) { $("preview-status").textContent = "withheld: " + data.withheld; return; }
  const changed = data.rows.filter((r) => r.change !== "kept").length;
  $("preview-status").textContent = `profile ${data.profile_version}: ${changed} of ${data.rows.length} changed`;
  $("diff").fill(data.rows.map((r) => ({ cells: [r.tag + (r.path.includes("[") ? " " + r.path : ""), r.keyword,
    r.before, r.after], cls: r.change === "kept" ? "" : r.change })));
}
