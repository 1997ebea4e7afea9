// Pixel rules: draw mask rectangles on a rendered frame of a picked instance (with the mouse on the image, or
// by numbers), save them as a rule of the selected role matched by the instance's device and image size, then
// look at another instance of the same series before and after. Coordinates are image pixels: the frame is
// shown scaled, and the canvas over it has the image's own size, so only the pointer is mapped.
import { $, api, el, problem } from "./api.js";
import { imagePair } from "./imagepair.js";
import { device, picker } from "./picker.js";
import { currentRole, currentText, reload } from "./roles.js";

export const id = "pixels";
export const title = "Pixel rules";
const DISPLAY = 512; // CSS pixels of the longer side of the shown frame
const state = { choice: null, regions: [], start: null, draft: null, url: null };
let pick;
let check;

export function mount(root) {
  pick = picker("pixels", loadFrame);
  check = imagePair("pixels-check");
  const number = (name, label) => el("label", {}, label + " ",
    el("input", { id: `pixels-${name}`, type: "number", min: "0", step: "1", value: "0" }));
  root.append(
    el("p", { id: "pixels-role" }),
    pick.node,
    el("div", { class: "pixel-editor" },
      el("div", {},
        el("div", { class: "stage" },
          el("img", { id: "pixels-image", alt: "rendered frame of the picked instance", hidden: true }),
          el("canvas", { id: "pixels-canvas", width: "1", height: "1", hidden: true,
            "aria-label": "Drag on the image to add a mask rectangle (or enter it by numbers)",
            onpointerdown: down, onpointermove: move, onpointerup: up, onpointercancel: () => cancel() })),
        el("p", { id: "pixels-frame-status", role: "status" })),
      el("div", {},
        el("fieldset", {}, el("legend", {}, "Rectangle in image pixels"),
          number("x", "x"), " ", number("y", "y"), " ", number("w", "width"), " ", number("h", "height"), " ",
          el("button", { id: "pixels-add", onclick: addTyped }, "Add rectangle")),
        el("p", {}, "Mask rectangles:"),
        el("ul", { id: "pixels-regions", "aria-live": "polite" }),
        el("p", { id: "pixels-match" }),
        el("button", { id: "pixels-save", onclick: save, disabled: true }, "Save as a pixel rule of the role"), " ",
        el("span", { id: "pixels-status", role: "status" }))),
    el("h3", {}, "Check on another instance of the same device"),
    el("label", {}, "Instance of the same series ", el("select", { id: "pixels-check" })), " ",
    el("button", { id: "pixels-check-run", onclick: runCheck }, "Show before and after"),
    check.node,
  );
}

export function show() {
  $("pixels-role").textContent = `Rules are saved to the profile of role ${currentRole()} (chosen in Roles).`;
}

async function loadFrame(choice) {
  state.choice = choice;
  state.regions = [];
  renderList();
  const { status, data } = await api("POST", `/roles/${encodeURIComponent(currentRole())}/rendered`,
    { ...choice.uids, masked: false });
  if (status !== 200 || !(data instanceof Blob)) { $("pixels-frame-status").textContent = problem(data); return; }
  if (state.url) URL.revokeObjectURL(state.url);
  state.url = URL.createObjectURL(data);
  const img = $("pixels-image");
  img.onload = () => placeCanvas(img);
  img.src = state.url;
  $("pixels-match").textContent = `The rule will match ${device(choice.series) || "any device"} at ` +
    `${choice.instance.Columns}×${choice.instance.Rows} pixels.`;
  $("pixels-check").replaceChildren(...pick.siblings().map((c) =>
    new Option(`#${c.instance.InstanceNumber}`, c.uids.SOPInstanceUID)));
}

function placeCanvas(img) {
  const scale = DISPLAY / Math.max(img.naturalWidth, img.naturalHeight);
  const [width, height] = [img.naturalWidth * scale, img.naturalHeight * scale];
  const canvas = $("pixels-canvas");
  canvas.width = img.naturalWidth;
  canvas.height = img.naturalHeight;
  for (const node of [img, canvas]) {
    node.style.width = `${width}px`;
    node.style.height = `${height}px`;
    node.hidden = false;
  }
  $("pixels-frame-status").textContent = `frame ${img.naturalWidth}×${img.naturalHeight} pixels, shown at ` +
    `${Math.round(scale * 100)}%`;
  draw();
}

// A pointer position as image pixel coordinates (the canvas has the image's size; CSS scales it).
function toImage(event) {
  const canvas = $("pixels-canvas");
  const box = canvas.getBoundingClientRect();
  const clamp = (v, max) => Math.min(max, Math.max(0, v));
  return [clamp(Math.floor((event.clientX - box.left) * canvas.width / box.width), canvas.width),
    clamp(Math.floor((event.clientY - box.top) * canvas.height / box.height), canvas.height)];
}

function rectangle([x0, y0], [x1, y1]) {
  return [Math.min(x0, x1), Math.min(y0, y1), Math.abs(x1 - x0), Math.abs(y1 - y0)];
}

function down(event) {
  event.currentTarget.setPointerCapture(event.pointerId);
  state.start = toImage(event);
  state.draft = null;
}

function move(event) {
  if (state.start === null) return;
  state.draft = rectangle(state.start, toImage(event));
  draw();
}

function up(event) {
  if (state.start === null) return;
  const region = rectangle(state.start, toImage(event));
  cancel();
  if (region[2] > 0 && region[3] > 0) add(region);
}

function cancel() { state.start = null; state.draft = null; draw(); }

function addTyped() {
  const region = ["x", "y", "w", "h"].map((k) => Number($(`pixels-${k}`).value));
  const canvas = $("pixels-canvas");
  const fits = region.every(Number.isInteger) && region[0] >= 0 && region[1] >= 0 && region[2] > 0 &&
    region[3] > 0 && region[0] + region[2] <= canvas.width && region[1] + region[3] <= canvas.height;
  if (!fits) { $("pixels-status").textContent = "a rectangle is whole image pixels inside the frame"; return; }
  add(region);
}

function add(region) {
  state.regions.push(region);
  ["x", "y", "w", "h"].forEach((k, i) => { $(`pixels-${k}`).value = String(region[i]); });
  $("pixels-status").textContent = "";
  renderList();
}

function renderList() {
  $("pixels-regions").replaceChildren(...state.regions.map((r, index) => el("li", { class: "region" },
    `x ${r[0]}, y ${r[1]}, ${r[2]}×${r[3]} `,
    el("button", { "aria-label": `Remove rectangle ${index + 1}`, onclick: () => {
      state.regions.splice(index, 1);
      renderList();
    } }, "Remove"))));
  $("pixels-save").disabled = state.regions.length === 0 || state.choice === null;
  draw();
}

function draw() {
  const canvas = $("pixels-canvas");
  const context = canvas.getContext("2d");
  context.clearRect(0, 0, canvas.width, canvas.height);
  context.lineWidth = 1;
  for (const [x, y, w, h] of state.regions) {
    context.fillStyle = "rgba(255, 0, 80, 0.45)";
    context.fillRect(x, y, w, h);
  }
  if (state.draft) {
    context.strokeStyle = "#ff0";
    context.strokeRect(state.draft[0] + 0.5, state.draft[1] + 0.5, state.draft[2], state.draft[3]);
  }
}

function match() {
  const { series, instance } = state.choice;
  const out = { Rows: Number(instance.Rows), Columns: Number(instance.Columns) };
  if (series.Manufacturer) out.Manufacturer = series.Manufacturer;
  if (series.ManufacturerModelName) out.ManufacturerModelName = series.ManufacturerModelName;
  return out;
}

async function save() {
  const role = encodeURIComponent(currentRole());
  const say = (text) => { $("pixels-status").textContent = text; };
  const live = await api("GET", `/roles/${role}`);
  if (live.status !== 200) { say(problem(live.data)); return; }
  const drafted = await api("POST", `/roles/${role}/with-pixel-rule`,
    { text: live.data.text, match: match(), regions: state.regions });
  if (drafted.status !== 200) { say(problem(drafted.data)); return; }
  const saved = await api("PUT", `/roles/${role}`, { text: drafted.data.text, base_version: live.data.version });
  if (saved.status !== 200) { say(problem(saved.data)); return; }
  say(`saved as version ${saved.data.version} (profile ${saved.data.profile_version}) of role ${currentRole()}`);
  await reload(); // the Roles section (and so the Preview) now holds the saved text
}

async function runCheck() {
  const target = pick.siblings().find((c) => c.uids.SOPInstanceUID === $("pixels-check").value);
  if (target) await check.show(currentRole(), target.uids, currentText());
}
