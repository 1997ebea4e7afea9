// The profile form: drawn from the profile's data and the server's schema (the lists the compiler uses), and
// read back into data. Fields the form does not show (description, scope, scrub...) pass through untouched.
import { $, api, el } from "./api.js";

const LOOKUP_MS = 250;
let rowCount = 0; // override rows are numbered once, so ids stay unique when rows come and go
const known = new Map(); // keyword -> "(gggg,eeee) VR", from the dictionary answers seen so far
let lookupTimer = null;

export function buildForm(root, state, edited) {
  const { data, schema } = state;
  const parts = [permissions(data, schema)];
  if (state.identity) {
    parts.push(el("p", { class: "note" }, "An identity role: it sees the data as the origin holds it, so there ",
      "is nothing to de-identify; only its permissions apply."));
  } else {
    parts.push(options(data, schema), modes(data, schema), withhold(data.withhold || {}),
      overrides(data.overrides || {}, schema, state, edited), pixelRules(data.pixel_rules || [], schema, state, edited));
  }
  root.replaceChildren(...parts);
  root.dataset.role = state.role; // which role the fields now show
}

export function readForm(root, state) {
  const value = (id) => root.querySelector("#" + id)?.value.trim() ?? "";
  const checked = (selector) => [...root.querySelectorAll(selector)].filter((n) => n.checked)
    .map((n) => n.value);
  const original = state.data || {};
  const update = { permissions: checked("input[data-perm]") };
  if (!state.identity) {
    const age = value("form-age-cap");
    Object.assign(update, {
      options: checked("input[data-option]"),
      dates: value("form-dates") || undefined,
      uids: value("form-uids") || undefined,
      age_cap_years: age === "" ? undefined : Number(age),
      withhold: readWithhold(root, original.withhold),
      pixel_rules: readPixelRules(root),
      overrides: Object.fromEntries([...root.querySelectorAll("tr[data-override]")]
        .map((tr) => [tr.querySelector("input").value.trim(), tr.querySelector("select").value])
        .filter(([keyword]) => keyword)),
      clean: value("form-clean"),
    });
    const defaults = { options: [], pixel_rules: [], overrides: {}, clean: "scrub", withhold: {} };
    for (const [key, empty] of Object.entries(defaults)) {
      if (!(key in original) && JSON.stringify(update[key]) === JSON.stringify(empty)) update[key] = undefined;
    }
  }
  return merge(original, update);
}

// The original's keys in their order, each replaced by the form's value (undefined: dropped), then new keys.
function merge(original, update) {
  const out = {};
  for (const key of Object.keys(original)) {
    const value = key in update ? update[key] : original[key];
    if (value !== undefined) out[key] = value;
  }
  for (const [key, value] of Object.entries(update)) if (!(key in out) && value !== undefined) out[key] = value;
  return out;
}

// -- the fields --------------------------------------------------------------------------------------------
function fieldset(legend, key, ...children) {
  return el("fieldset", { "data-key": key }, el("legend", {}, legend), ...children);
}

function checkbox(id, attrs, checked, ...text) {
  return el("label", { class: "check" }, el("input", { type: "checkbox", id, checked, ...attrs }), " ", ...text);
}

function select(id, key, label, choices, value) {
  return el("label", { class: "field" }, label + " ",
    el("select", { id, "data-key": key },
      choices.map(([word, text]) => el("option", { value: word, selected: word === (value ?? "") }, text))));
}

function permissions(data, schema) {
  const have = new Set(data.permissions || []);
  return fieldset("Permissions", "permissions", schema.permissions.map((p) =>
    checkbox(`perm-${p}`, { "data-perm": "", value: p }, have.has(p), p)));
}

function options(data, schema) {
  const have = new Set(data.options || []);
  return fieldset("PS3.15 options", "options", schema.options.map((o) =>
    checkbox(`opt-${o.name}`, { "data-option": "", value: o.name }, have.has(o.name),
      el("strong", {}, o.title), `: ${o.explanation}`)));
}

function modes(data, schema) {
  return fieldset("Dates, UIDs, ages and free text", "dates",
    select("form-dates", "dates", "Dates", [["", "as the options imply"],
      ...schema.dates.map((d) => [d.word, `${d.word}: ${d.explanation}`])], data.dates),
    select("form-uids", "uids", "UIDs", [["", "as the options imply"], ...schema.uids.map((u) => [u, u])], data.uids),
    el("label", { class: "field" }, "Age cap (years, empty for none) ",
      el("input", { id: "form-age-cap", type: "number", min: "1", max: "150", "data-key": "age_cap_years",
        value: data.age_cap_years === undefined || data.age_cap_years === null ? "" : String(data.age_cap_years) })),
    select("form-clean", "clean", "Free text (clean)", schema.clean.map((c) => [c, c === "scrub"
      ? "scrub: keep the words that identify no one" : "blank: replace with a constant"]), data.clean || "scrub"));
}

const LISTS = [
  ["modalities", "form-withhold-modalities", "Modalities always withheld"],
  ["burned_in_risk_modalities", "form-withhold-risk", "Modalities at risk of burned-in text (withheld unless a pixel rule cleans them)"],
  ["sop_classes", "form-withhold-sop", "SOP classes withheld (UIDs or keywords)"],
];

function withhold(held) {
  return fieldset("Withhold (comma-separated lists)", "withhold",
    LISTS.map(([key, id, label]) => el("label", { class: "block" }, label + " ",
      el("input", { type: "text", id, "data-key": `withhold.${key}`, value: (held[key] || []).join(", ") }))),
    checkbox("form-burned-in", { "data-key": "withhold.burned_in_annotation" }, held.burned_in_annotation !== false,
      "Withhold objects marked BurnedInAnnotation YES unless a pixel rule cleans them"));
}

function readWithhold(root, original = {}) {
  const out = {};
  for (const [key, id] of LISTS) {
    const items = root.querySelector("#" + id).value.split(",").map((s) => s.trim()).filter(Boolean);
    if (key in original || items.length) out[key] = items;
  }
  const burned = root.querySelector("#form-burned-in").checked;
  if ("burned_in_annotation" in original || !burned) out.burned_in_annotation = burned;
  return out;
}

function overrides(listed, schema, state, edited) {
  const body = el("tbody");
  const add = (keyword, word) => {
    const n = ++rowCount;
    const tag = el("td", { class: "tag" }, known.get(keyword) || "");
    const key = el("input", { type: "text", id: `override-key-${n}`, list: "dictionary", value: keyword,
      autocomplete: "off", "data-key": `overrides.${keyword}`,
      oninput: () => { key.dataset.key = `overrides.${key.value.trim()}`; lookup(key.value.trim(), tag); } });
    const row = el("tr", { "data-override": "" },
      el("td", {}, el("label", { class: "sr-only", for: key.id }, `Override ${n} keyword`), key), tag,
      el("td", {}, el("label", { class: "sr-only", for: `override-action-${n}` }, `Override ${n} action`),
        el("select", { id: `override-action-${n}` }, schema.overrides.map((w) =>
          el("option", { value: w, selected: w === word }, w)))),
      el("td", {}, el("button", { type: "button", "aria-label": `Remove override ${n}`,
        onclick: () => { row.remove(); edited(); } }, "Remove")));
    body.append(row);
    return key;
  };
  for (const [keyword, word] of Object.entries(listed)) add(keyword, word);
  return fieldset("Overrides: an attribute's action, whatever the options say", "overrides",
    el("table", { id: "overrides" }, el("caption", {}, "Keyword → action (keywords complete from the DICOM dictionary)"),
      el("thead", {}, el("tr", {}, ["Keyword", "Tag and VR", "Action", ""].map((h) => el("th", { scope: "col" }, h)))),
      body),
    el("button", { type: "button", id: "override-add",
      onclick: () => { add("", schema.overrides[0]).focus(); edited(); } }, "Add override"));
}

// At most ~50 keywords at a time, asked for as the admin types; the whole dictionary never comes to the page.
function lookup(prefix, tagCell) {
  clearTimeout(lookupTimer);
  tagCell.textContent = known.get(prefix) || "";
  if (!/^[A-Za-z][A-Za-z0-9]{0,63}$/.test(prefix)) return;
  lookupTimer = setTimeout(async () => {
    const { status, data } = await api("GET", "/dictionary?prefix=" + encodeURIComponent(prefix));
    if (status !== 200) return;
    for (const entry of data) known.set(entry.keyword, `${entry.tag} ${entry.vr}`);
    $("dictionary").replaceChildren(...data.map((entry) =>
      el("option", { value: entry.keyword, "data-tag": entry.tag }, `${entry.tag} ${entry.vr} ${entry.name}`)));
    tagCell.textContent = known.get(prefix) || "";
  }, LOOKUP_MS);
}

// -- pixel rules: numbers here; drawing them is another editor's job ----------------------------------------
function pixelRules(rules, schema, state, edited) {
  const list = el("ol", { id: "pixel-rules" });
  const box = fieldset("Pixel rules: regions blanked in matching images (x, y, width, height)", "pixel_rules", list,
    el("button", { type: "button", id: "pixel-rule-add", onclick: () => {
      redraw([...readPixelRules(box), { match: {}, regions: [[0, 0, 1, 1]] }]);
    } }, "Add pixel rule"));
  const redraw = (next) => {
    const fresh = pixelRules(next, schema, state, edited);
    box.replaceWith(fresh);
    fresh.querySelector("#pixel-rule-add").focus();
    edited();
  };
  rules.forEach((rule, i) => list.append(pixelRule(rule, i, schema, () => ({ next: readPixelRules(box), redraw }))));
  return box;
}

function pixelRule(rule, i, schema, current) {
  const n = i + 1;
  const match = schema.match_keys.map((key) => {
    const numeric = key === "Rows" || key === "Columns";
    return el("label", { class: "field" }, `${key} `, el("input", { type: numeric ? "number" : "text",
      id: `pixel-${n}-${key}`, "data-match": key, min: numeric ? "1" : undefined,
      value: rule.match?.[key] === undefined || rule.match?.[key] === null ? "" : String(rule.match[key]) }));
  });
  const regions = (rule.regions || []).map((region, r) => el("div", { class: "region", "data-region": "" },
    `Region ${r + 1}: `, ["x", "y", "width", "height"].map((name, k) => el("label", { class: "field" }, `${name} `,
      el("input", { type: "number", id: `pixel-${n}-region-${r + 1}-${name}`, value: String(region[k] ?? ""),
        class: "num" }))),
    el("button", { type: "button", "aria-label": `Remove region ${r + 1} of pixel rule ${n}`, onclick: () => {
      const { next, redraw } = current();
      next[i].regions.splice(r, 1);
      redraw(next);
    } }, "Remove region")));
  return el("li", { "data-pixel-rule": "", "data-key": `pixel_rules.${i}` },
    el("div", {}, "Match: ", match), regions,
    el("button", { type: "button", "aria-label": `Add a region to pixel rule ${n}`, onclick: () => {
      const { next, redraw } = current();
      next[i].regions.push([0, 0, 1, 1]);
      redraw(next);
    } }, "Add region"), " ",
    el("button", { type: "button", "aria-label": `Remove pixel rule ${n}`, onclick: () => {
      const { next, redraw } = current();
      next.splice(i, 1);
      redraw(next);
    } }, "Remove rule"));
}

function readPixelRules(root) {
  return [...root.querySelectorAll("li[data-pixel-rule]")].map((li) => {
    const match = {};
    for (const input of li.querySelectorAll("input[data-match]")) {
      const text = input.value.trim();
      if (text) match[input.dataset.match] = input.type === "number" ? Number(text) : text;
    }
    const regions = [...li.querySelectorAll("[data-region]")].map((div) =>
      [...div.querySelectorAll("input")].map((input) => Number(input.value)));
    return { match, regions };
  });
}
