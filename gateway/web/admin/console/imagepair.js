// The rendered image of one instance before and after a role's pixel rules (the live profile, or the edited
// text of the Roles section), side by side. Images arrive as blobs and are shown through object URLs.
import { api, el, problem } from "./api.js";

export function imagePair(prefix) {
  const urls = [];
  const figure = (which, caption) => {
    const img = el("img", { id: `${prefix}-${which}`, alt: caption, hidden: true });
    const note = el("p", { id: `${prefix}-${which}-note`, class: "error" });
    return { img, note, node: el("figure", {}, img, note, el("figcaption", {}, caption)) };
  };
  const before = figure("before", "Before: the origin's rendered frame");
  const after = figure("after", "After: with the role's pixel rules");
  const status = el("p", { id: `${prefix}-images-status`, role: "status" });
  const node = el("div", { class: "pair", "aria-label": "Rendered image before and after" },
    before.node, after.node, status);

  async function load(side, role, body) {
    side.img.hidden = true;
    side.note.textContent = "";
    const { status: code, data } = await api("POST", `/roles/${encodeURIComponent(role)}/rendered`, body);
    if (code === 200 && data instanceof Blob) {
      const url = URL.createObjectURL(data);
      urls.push(url);
      side.img.src = url;
      side.img.hidden = false;
      return "shown";
    }
    side.note.textContent = code === 200 && data.withheld ? `withheld: ${data.withheld}` : problem(data);
    return code === 200 && data.withheld ? "withheld" : "failed";
  }

  async function show(role, uids, text) {
    while (urls.length) URL.revokeObjectURL(urls.pop());
    status.textContent = "rendering…";
    const shown = await Promise.all([load(before, role, { ...uids, masked: false }),
      load(after, role, { ...uids, text, masked: true })]);
    status.textContent = shown[1] === "withheld"
      ? `role ${role} would withhold this instance: it would not be served at all`
      : shown.every((s) => s === "shown") ? `before and after shown (role ${role})`
        : `before ${shown[0]}, after ${shown[1]} (role ${role})`;
  }
  return { node, show };
}
