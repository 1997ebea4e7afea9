// What every section shares: the admin API call, the credential, and small DOM builders (text only, no HTML).

const TOKEN = "adminToken";

export function credential() { return sessionStorage.getItem(TOKEN) || ""; }
export function setCredential(value) {
  if (value) sessionStorage.setItem(TOKEN, value); else sessionStorage.removeItem(TOKEN);
}

export async function api(method, path, body) {
  const headers = { Authorization: "Bearer " + credential() };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch("/admin" + path, { method, headers,
    body: body === undefined ? undefined : JSON.stringify(body) });
  const type = response.headers.get("Content-Type") || "";
  const data = type.includes("json") ? await response.json() : await response.blob();
  return { status: response.status, data };
}

// An error answer as one line: a profile error names its file and key, everything else has a message.
export function problem(data) {
  if (data && data.key !== undefined) return `${data.file}: ${data.key}: ${data.reason}`;
  return data && data.message ? data.message : "request failed";
}

// el("button", {id: "x", onclick: f}, "text", child): attributes starting with "on" become listeners,
// `hidden`/`disabled`/`checked` are properties, everything else an attribute; strings become text nodes.
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (["hidden", "disabled", "checked", "value"].includes(name)) node[name] = value;
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export const $ = (id) => document.getElementById(id);

// A table with a caption and column headers; `fill(rows)` replaces its body, a row being cells or {cells, cls}.
export function table(id, caption, headers) {
  const body = el("tbody");
  const node = el("table", { id }, el("caption", {}, caption),
    el("thead", {}, el("tr", {}, headers.map((h) => el("th", { scope: "col" }, h)))), body);
  node.fill = (rows) => body.replaceChildren(...rows.map((r) => {
    const cells = Array.isArray(r) ? r : r.cells;
    return el("tr", { class: Array.isArray(r) ? undefined : r.cls },
      cells.map((c) => el("td", {}, c instanceof Node ? c : (c === null || c === undefined ? "—" : String(c)))));
  }));
  return node;
}

export function download(name, blob) {
  const url = URL.createObjectURL(blob);
  const link = el("a", { href: url, download: name });
  document.body.append(link);
  link.click();
  link.remove();
  URL.revokeObjectURL(url);
}
