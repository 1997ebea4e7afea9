// Overview: this process's last hour, per minute, from the gateway's own counters. Each chart is inline SVG
// drawn here; every row carries its numbers in data- attributes and a <title>, so they can be read, not only seen.
import { $, api, el, problem } from "./api.js";

export const id = "overview";
export const title = "Overview";
const NS = "http://www.w3.org/2000/svg";
const WIDTH = 1180;
const ROW = 24;
const LABEL_W = 190;
const BAR_W = 420;
const SPARK_X = LABEL_W + BAR_W + 80;

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(NS, tag);
  for (const [name, value] of Object.entries(attrs)) if (value !== undefined) node.setAttribute(name, String(value));
  for (const child of children) node.append(typeof child === "string" ? document.createTextNode(child) : child);
  return node;
}

export function mount(root) {
  root.append(
    el("p", { class: "note", id: "overview-note" }, "Figures of this gateway process only, per minute over the ",
      "last hour. With workers > 1 each process counts its own, and this page shows the one that answered."),
    el("div", { class: "actions" },
      el("button", { id: "overview-refresh", type: "button", onclick: refresh }, "Refresh"), " ",
      el("span", { id: "overview-status", role: "status" })),
    el("div", { id: "charts" }),
  );
}

export function show() { refresh(); }

async function refresh() {
  const { status, data } = await api("GET", "/overview");
  if (status !== 200) { $("overview-status").textContent = problem(data); return; }
  const at = new Date(data.minutes[data.minutes.length - 1] * 1000);
  $("overview-status").textContent = `process ${data.pid}, up to ${at.toLocaleTimeString()}`;
  $("charts").replaceChildren(
    bars("chart-requests", "Requests per role", data.requests, "requests"),
    bars("chart-withheld", "Withheld objects by reason", data.withheld, "withheld"),
    bars("chart-errors", "Errors by kind (answer status, or the origin's failure)", data.errors, "errors"),
    latency(data.latency),
  );
}

// One row per label: the hour's total as a bar, and the 60 minutes beside it, oldest first.
function bars(chartId, heading, series, unit) {
  const labels = Object.keys(series);
  const totals = labels.map((label) => series[label].reduce((a, b) => a + b, 0));
  const top = Math.max(1, ...totals);
  const peak = Math.max(1, ...labels.flatMap((label) => series[label]));
  const height = ROW * Math.max(1, labels.length) + 30;
  const chart = svg("svg", { id: chartId, role: "img", width: WIDTH, height, viewBox: `0 0 ${WIDTH} ${height}`,
    "aria-label": `${heading}, last hour` }, svg("title", {}, `${heading}, last hour`));
  if (!labels.length) chart.append(svg("text", { x: 0, y: 18, class: "muted" }, `no ${unit} in the last hour`));
  labels.forEach((label, i) => {
    const y = i * ROW;
    const row = svg("g", { class: "row", "data-label": label, "data-count": totals[i] },
      svg("title", {}, `${label}: ${totals[i]} ${unit} in the last hour`),
      svg("text", { x: 0, y: y + 16 }, label === "-" ? "- (not signed in)" : label),
      svg("rect", { x: LABEL_W, y: y + 4, width: Math.max(1, (BAR_W * totals[i]) / top), height: ROW - 8,
        class: "bar" }),
      svg("text", { x: LABEL_W + BAR_W + 8, y: y + 16 }, String(totals[i])));
    series[label].forEach((count, m) => {
      if (count) {
        const h = Math.max(1, ((ROW - 6) * count) / peak);
        row.append(svg("rect", { x: SPARK_X + m * 8, y: y + ROW - 2 - h, width: 6, height: h, class: "spark" },
          svg("title", {}, `${label}: ${count} in minute ${m - 59}`)));
      }
    });
    chart.append(row);
  });
  chart.append(axis(height - 8));
  return el("figure", {}, el("figcaption", {}, heading), chart);
}

function axis(y) {
  return svg("g", { class: "axis" }, svg("text", { x: LABEL_W, y }, "hour total"),
    svg("text", { x: SPARK_X, y }, "60 min ago"), svg("text", { x: SPARK_X + 59 * 8 - 20, y }, "now"));
}

// p50 and p95 per minute as two lines (gaps where no request came), on a scale of the hour's slowest minute.
function latency(data) {
  const height = 170;
  const plot = { x: LABEL_W, y: 10, w: 59 * 12, h: 120 };
  const top = Math.max(0.001, ...data.p95.filter((v) => v !== null));
  const ms = (v) => (v === null ? "—" : `${Math.round(v * 1000 * 10) / 10} ms`);
  const chart = svg("svg", { id: "chart-latency", role: "img", width: WIDTH, height, viewBox: `0 0 ${WIDTH} ${height}`,
    "aria-label": "Latency p50 and p95, last hour", "data-p50": data.hour_p50 ?? "", "data-p95": data.hour_p95 ?? "" },
  svg("title", {}, `Latency over the last hour: p50 ${ms(data.hour_p50)}, p95 ${ms(data.hour_p95)}`),
  svg("text", { x: 0, y: 20 }, `p50 ${ms(data.hour_p50)}`), svg("text", { x: 0, y: 40 }, `p95 ${ms(data.hour_p95)}`),
  svg("text", { x: 0, y: 60, class: "muted" }, `scale: 0 to ${ms(top)}`),
  svg("rect", { x: plot.x, y: plot.y, width: plot.w, height: plot.h, class: "frame" }));
  for (const [name, values] of [["p50", data.p50], ["p95", data.p95]]) {
    const points = values.map((v, m) => (v === null ? null
      : `${plot.x + m * 12},${plot.y + plot.h - (plot.h * v) / top}`));
    const runs = points.join(" ").split(/\s*null\s*/).map((s) => s.trim()).filter(Boolean);
    for (const run of runs) {
      const line = run.includes(" ") ? svg("polyline", { points: run, class: `line ${name}` })
        : svg("circle", { cx: run.split(",")[0], cy: run.split(",")[1], r: 2, class: `line ${name}` });
      chart.append(line);
    }
  }
  chart.append(svg("text", { x: plot.x, y: height - 10 }, "60 min ago"),
    svg("text", { x: plot.x + plot.w - 20, y: height - 10 }, "now"),
    svg("text", { x: plot.x + plot.w + 20, y: 30, class: "p50 legend" }, "p50"),
    svg("text", { x: plot.x + plot.w + 20, y: 50, class: "p95 legend" }, "p95"));
  return el("figure", {}, el("figcaption", {}, "Latency: p50 and p95 per minute"), chart);
}
