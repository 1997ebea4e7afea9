// Picking an instance of the origin as the admin sees it: a search box over the studies, then the study's
// series, then the series' instances (by InstanceNumber). No UID is typed. The Preview and the pixel-rule editor
// each mount one, with their own id prefix; `onPick(choice)` runs when an instance is chosen.
import { api, el, problem } from "./api.js";

export function picker(prefix, onPick) {
  const state = { studies: [], series: [], instances: [], choice: null };
  const query = el("input", { id: `${prefix}-q`, type: "search", autocomplete: "off", spellcheck: "false" });
  const status = el("span", { id: `${prefix}-pick-status`, role: "status" });
  const lists = {
    study: el("select", { id: `${prefix}-study`, disabled: true, onchange: () => pickStudy() }),
    series: el("select", { id: `${prefix}-series`, disabled: true, onchange: () => pickSeries() }),
    instance: el("select", { id: `${prefix}-instance`, disabled: true, onchange: () => pickInstance() }),
  };
  const node = el("form", { class: "picker", "aria-label": "Pick an instance of the origin", onsubmit: search },
    el("label", {}, "Search the origin (patient ID, accession number or the start of a name) ", query), " ",
    el("button", { type: "submit", id: `${prefix}-search` }, "Search"), " ", status,
    el("div", { class: "pickers" },
      el("label", {}, "Study", lists.study), el("label", {}, "Series", lists.series),
      el("label", {}, "Instance", lists.instance)));

  function fill(list, placeholder, items, value, text) {
    const none = new Option(placeholder, "", true, true);
    none.disabled = true;
    list.replaceChildren(none, ...items.map((item) => new Option(text(item), value(item))));
    list.disabled = items.length === 0;
  }

  async function load(path) {
    const { status: code, data } = await api("GET", path);
    if (code !== 200) { status.textContent = problem(data); return null; }
    return data;
  }

  async function search(event) {
    event.preventDefault();
    state.choice = null;
    const text = query.value.trim();
    const found = await load("/origin/studies?q=" + encodeURIComponent(text));
    if (found === null) return;
    state.studies = found;
    status.textContent = `${found.length} stud${found.length === 1 ? "y" : "ies"} found`;
    fill(lists.study, "— pick a study —", found, (s) => s.StudyInstanceUID, (s) =>
      [s.PatientName, s.PatientID, s.StudyDate, s.StudyDescription, s.ModalitiesInStudy].filter(Boolean).join(" · "));
    fill(lists.series, "— pick a study first —", [], null, null);
    fill(lists.instance, "— pick a series first —", [], null, null);
  }

  async function pickStudy() {
    state.choice = null;
    const found = await load(`/origin/studies/${encodeURIComponent(lists.study.value)}/series`);
    if (found === null) return;
    state.series = found;
    fill(lists.series, "— pick a series —", found, (s) => s.SeriesInstanceUID, (s) =>
      [`#${s.SeriesNumber}`, s.Modality, s.SeriesDescription, device(s),
        `${s.NumberOfSeriesRelatedInstances} instances`].filter(Boolean).join(" · "));
    fill(lists.instance, "— pick a series first —", [], null, null);
  }

  async function pickSeries() {
    state.choice = null;
    const path = `/origin/studies/${encodeURIComponent(lists.study.value)}/series/` +
      `${encodeURIComponent(lists.series.value)}/instances`;
    const found = await load(path);
    if (found === null) return;
    state.instances = found;
    fill(lists.instance, "— pick an instance —", found, (i) => i.SOPInstanceUID, (i) =>
      [`#${i.InstanceNumber}`, i.Rows && `${i.Columns}×${i.Rows}`, i.NumberOfFrames && `${i.NumberOfFrames} frames`]
        .filter(Boolean).join(" · "));
  }

  function pickInstance() {
    state.choice = choiceOf(lists.instance.value);
    onPick(state.choice);
  }

  function choiceOf(uid) {
    const series = state.series.find((s) => s.SeriesInstanceUID === lists.series.value);
    const instance = state.instances.find((i) => i.SOPInstanceUID === uid);
    return { series, instance, uids: { StudyInstanceUID: lists.study.value,
      SeriesInstanceUID: series.SeriesInstanceUID, SOPInstanceUID: instance.SOPInstanceUID } };
  }

  // The other instances of the chosen series (the same device), as choices.
  const siblings = () => state.choice === null ? [] : state.instances
    .filter((i) => i.SOPInstanceUID !== state.choice.uids.SOPInstanceUID).map((i) => choiceOf(i.SOPInstanceUID));
  return { node, choice: () => state.choice, siblings };
}

export function device(series) {
  return [series.Manufacturer, series.ManufacturerModelName].filter(Boolean).join(" ");
}
