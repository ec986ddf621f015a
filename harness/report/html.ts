// The HTML report: one self-contained page (inline CSS, SVG and a little JS; nothing fetched) made from
// timeline.json files only, so it can be made afterwards from a CI artifact and read offline. A summary
// table, then per scenario × target a timeline (a lane per board and one for the lab LAN, steps as nested
// bars, the failing step marked, LAN transactions and fault firings on the same axis), expected vs seen,
// each board's console with times and the lines around the failure highlighted, and links to the raw files.

import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { boardOfStep, type ConsoleLine, type LanEvent, type StepRecord, type Timeline } from "../timeline/model.ts";

/** One timeline.json and where its folder is, relative to the report file (for links). */
export interface ReportEntry {
  timeline: Timeline;
  /** The folder of timeline.json relative to the report's folder ("" for the same folder). */
  dir: string;
}

/** Reads timeline.json files: the given ones, or every one under the given folders. Sorted by scenario, target. */
export function readTimelines(paths: string[], reportDir: string): ReportEntry[] {
  const files: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name));
      else if (e.name === "timeline.json") files.push(join(d, e.name));
    }
  };
  for (const p of paths) {
    if (!existsSync(p)) continue;
    if (statSync(p).isDirectory()) walk(p);
    else files.push(p);
  }
  return files.map((f) => ({ timeline: readTimeline(JSON.parse(readFileSync(f, "utf8"))), dir: relative(reportDir, join(f, "..")) }))
    .sort((a, b) => a.timeline.scenario.localeCompare(b.timeline.scenario) || a.timeline.target.localeCompare(b.timeline.target));
}

/** Writes the report of the given timeline.json files (or folders of them) to `file` (links relative to it); nothing when there are none. */
export function writeHtmlReport(file: string, timelines: string[], opts: { title?: string } = {}): number {
  const dir = dirname(resolve(file));
  const entries = readTimelines(timelines.map((t) => resolve(t)), dir);
  if (!entries.length) return 0;
  mkdirSync(dir, { recursive: true });
  writeFileSync(file, htmlReport(entries, { ...opts, generatedAt: new Date().toISOString() }));
  return entries.length;
}

/** A timeline.json as this report reads it; files written before format 2 (steps with a depth only) still show. */
export function readTimeline(raw: unknown): Timeline {
  const t = raw as Partial<Timeline> & { failure?: Timeline["failure"] & { context?: Record<string, unknown> } };
  if (t.format === 2) return t as Timeline;
  // Format 1: ids by order, parents by depth; no boards, no LAN.
  const stack: StepRecord[] = [];
  const steps = (t.steps ?? []).map((s, i) => {
    const r = { ...s, id: i + 1 } as StepRecord;
    stack.length = Math.min(stack.length, r.depth);
    if (r.depth > 0 && stack[r.depth - 1]) r.parent = stack[r.depth - 1]!.id;
    stack[r.depth] = r;
    return r;
  });
  const f = t.failure;
  return {
    format: 2, scenario: t.scenario ?? "?", name: t.name ?? "", target: t.target ?? "?", status: t.status ?? "failed",
    startedAt: t.startedAt ?? "", durationMs: t.durationMs ?? 0, steps, boards: [], files: { runLog: "run.log" },
    ...(f ? { failure: { kind: f.kind, message: f.message, report: f.message, ...(f.context ?? {}) } } : {}),
    ...(t.expectedFailureSeen !== undefined ? { expectedFailureSeen: t.expectedFailureSeen } : {}),
  };
}

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
/** A relative link, each path segment escaped. */
const href = (dir: string, file: string) => esc((dir ? `${dir}/${file}` : file).split("/").map(encodeURIComponent).join("/"));
const secs = (ms: number) => `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
const anchor = (t: Timeline) => "r-" + `${t.scenario}-${t.target}`.replace(/[^A-Za-z0-9_-]/g, "-");

/** The whole page. */
export function htmlReport(entries: ReportEntry[], opts: { title?: string; generatedAt?: string } = {}): string {
  const title = opts.title ?? "bootlab report";
  const failed = entries.filter((e) => e.timeline.status === "failed").length;
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>${CSS}</style></head>
<body>
<header><h1>${esc(title)}</h1><p class="counts">${entries.length - failed} passed, ${failed} failed${opts.generatedAt ? ` · made ${esc(opts.generatedAt)}` : ""}</p></header>
${summaryTable(entries)}
${entries.map(section).join("\n")}
<script>${JS}</script>
</body></html>
`;
}

function statusCell(t: Timeline): string {
  if (t.status === "passed" && t.expectedFailureSeen) return `<span class="badge passed">passed</span> <span class="note">failed as expected</span>`;
  return `<span class="badge ${t.status}">${t.status}</span>`;
}

function summaryTable(entries: ReportEntry[]): string {
  const rows = entries.map(({ timeline: t, dir }) => `<tr class="${t.status}">
<td><a href="#${anchor(t)}">${esc(t.scenario)}</a><div class="note">${esc(t.name)}</div></td><td>${esc(t.target)}</td>
<td>${statusCell(t)}</td><td class="num">${secs(t.durationMs)}</td><td>${t.failure ? `<span class="kind ${t.failure.kind}">${t.failure.kind}</span>` : ""}</td>
<td class="links">${fileLinks(t, dir)}</td></tr>`);
  return `<table class="summary"><thead><tr><th>scenario</th><th>target</th><th>status</th><th>duration</th><th>failure</th><th>files</th></tr></thead>
<tbody>${rows.join("\n")}</tbody></table>`;
}

/** Links to a run's files; `all` adds each board's raw console and QEMU command line (the pair's own section). */
function fileLinks(t: Timeline, dir: string, all = false): string {
  const links: [string, string][] = [["timeline.json", "timeline.json"], ["run.log", t.files.runLog]];
  if (t.files.failure) links.push(["failure.txt", t.files.failure]);
  if (t.lan) links.push(["lan.pcap", t.lan.files.pcap], ["lan-log.json", t.lan.files.log]);
  for (const b of t.boards) {
    const who = t.boards.length > 1 || b.name !== t.target ? `${b.name} ` : "";
    if (b.files.repro) links.push([`${who}repro.sh`, b.files.repro]);
    if (b.files.console) links.push([`${who}console`, b.files.console]);
    if (all && b.files.consoleRaw) links.push([`${who}raw console`, b.files.consoleRaw]);
    if (all && b.files.qemuCmdline) links.push([`${who}QEMU command line`, b.files.qemuCmdline]);
  }
  const seen = new Set<string>();
  return links.filter(([, f]) => !seen.has(f) && seen.add(f)).map(([label, f]) => `<a href="${href(dir, f)}">${esc(label)}</a>`).join(" ");
}

function section({ timeline: t, dir }: ReportEntry): string {
  const f = t.failure;
  const failureBox = f ? `<div class="failure ${f.kind}">
<div class="msg"><span class="kind ${f.kind}">${f.kind}</span> ${esc(f.message)}</div>
<dl>${f.step ? `<dt>step</dt><dd>${esc(f.step)}${f.board ? ` <span class="note">on ${esc(f.board)}</span>` : ""}</dd>` : ""}
${f.at ? `<dt>at</dt><dd><code>${esc(f.at)}</code></dd>` : ""}${f.fix ? `<dt>fix</dt><dd>${esc(f.fix)}</dd>` : ""}</dl>
${f.expected !== undefined || f.seen !== undefined ? `<div class="versus"><div><h4>expected</h4><pre class="expected">${esc(f.expected ?? "—")}</pre></div><div><h4>seen</h4><pre class="seen">${esc(f.seen ?? "—")}</pre></div></div>` : ""}
</div>` : "";
  return `<section class="pair ${t.status}" id="${anchor(t)}">
<h2>${statusCell(t)} ${esc(t.scenario)} <span class="on">on</span> ${esc(t.target)} <span class="note">${secs(t.durationMs)}${t.startedAt ? ` · ${esc(t.startedAt)}` : ""}</span></h2>
<p class="name">${esc(t.name)}</p>
${failureBox}
${timelineSvg(t)}
${consoles(t)}
<p class="links">${fileLinks(t, dir, true)}</p>
</section>`;
}

// ---- the timeline drawing ----

const W = 1200;
const LABEL = 120;
const ROW = 18;
const BAR = 14;
const LAN_KINDS: LanEvent["kind"][] = ["dhcp", "tftp", "http", "nbd", "fault", "duplicate-mac"];

/** The lane of each step: its board (own, or the one board inside it), else the scenario's own lane. */
function lanesOf(t: Timeline): { lanes: string[]; laneOf: Map<number, string> } {
  const laneOf = new Map<number, string>();
  for (const s of t.steps) laneOf.set(s.id, boardOfStep(s.id, t.steps) ?? "scenario");
  const boards = [...new Set([...t.boards.map((b) => b.name), ...[...laneOf.values()].filter((l) => l !== "scenario")])];
  const lanes = [...([...laneOf.values()].includes("scenario") ? ["scenario"] : []), ...boards];
  return { lanes, laneOf };
}

/** Rows for events that last, so overlapping ones do not hide each other; marks (no end) stay on the first row. */
export function packRows(events: LanEvent[]): { rows: number; placed: { event: LanEvent; row: number }[] } {
  const ends: number[] = [];
  const placed = events.map((event) => {
    if (event.endMs === undefined) return { event, row: 0 };
    let row = ends.findIndex((end) => end <= event.atMs);
    if (row < 0) row = ends.push(0) - 1;
    ends[row] = event.endMs;
    return { event, row };
  });
  return { rows: Math.max(1, ends.length), placed };
}

function tickStep(total: number): number {
  const raw = total / 10;
  const pow = 10 ** Math.floor(Math.log10(Math.max(raw, 1)));
  return [1, 2, 5, 10].map((m) => m * pow).find((s) => s >= raw) ?? raw;
}

/**
 * The row of each step in its lane: below its parent when they share the lane, and below any step of the
 * lane still running when it starts (two steps of one board side by side must not hide each other).
 */
export function stepRows(steps: readonly StepRecord[], laneOf: Map<number, string>, total: number): Map<number, number> {
  const rows = new Map<number, number>();
  const busyUntil = new Map<string, number[]>();
  const byId = new Map(steps.map((s) => [s.id, s]));
  for (const s of [...steps].sort((a, b) => a.startMs - b.startMs || a.id - b.id)) {
    const lane = laneOf.get(s.id)!;
    const parent = s.parent === undefined ? undefined : byId.get(s.parent);
    let row = parent && laneOf.get(parent.id) === lane ? rows.get(parent.id)! + 1 : 0;
    const busy = busyUntil.get(lane) ?? busyUntil.set(lane, []).get(lane)!;
    while ((busy[row] ?? -Infinity) > s.startMs) row++;
    busy[row] = Math.max(busy[row] ?? -Infinity, s.endMs ?? total);
    rows.set(s.id, row);
  }
  return rows;
}

function timelineSvg(t: Timeline): string {
  const total = Math.max(t.durationMs, ...t.steps.map((s) => s.endMs ?? s.startMs), ...(t.lan?.events ?? []).map((e) => e.endMs ?? e.atMs), 1);
  const x = (ms: number) => LABEL + (Math.max(0, ms) / total) * (W - LABEL - 10);
  const { lanes, laneOf } = lanesOf(t);
  const byId = new Map(t.steps.map((s) => [s.id, s]));
  const rowOf = stepRows(t.steps, laneOf, total);
  const parts: string[] = [];
  let y = 24;
  const failingId = t.failure?.stepId;
  for (const lane of lanes) {
    const steps = t.steps.filter((s) => laneOf.get(s.id) === lane);
    const rows = Math.max(1, ...steps.map((s) => rowOf.get(s.id)! + 1));
    const h = rows * ROW + 8;
    parts.push(`<g class="lane" data-lane="${esc(lane)}"><rect class="lane-bg" x="0" y="${y}" width="${W}" height="${h}"/>` +
      `<text class="lane-label" x="6" y="${y + 16}">${esc(lane === "scenario" ? "scenario" : lane)}</text>`);
    for (const s of steps) {
      const x0 = x(s.startMs);
      const x1 = Math.max(x(s.endMs ?? total), x0 + 2);
      const by = y + 4 + rowOf.get(s.id)! * ROW;
      const cls = ["step", s.status, s.cutShort ? "cut" : "", s.id === failingId ? "failing" : ""].filter(Boolean).join(" ");
      const tip = `${s.name}\n${secs(s.startMs)} → ${s.endMs === undefined ? "…" : secs(s.endMs)} (${s.endMs === undefined ? "running" : secs(s.endMs - s.startMs)})` +
        `${s.board ? `\nboard ${s.board}` : ""}\n${s.status}${s.cutShort ? " (cut short by the run's end)" : ""}${s.failure ? `: ${s.failure.kind}: ${s.failure.message}` : ""}`;
      const label = x1 - x0 > 40 ? `<text class="bar-label" x="${(x0 + 3).toFixed(1)}" y="${by + 11}" clip-path="url(#c-${anchor(t)}-${s.id})">${s.id === failingId ? "✘ " : ""}${esc(s.name)}</text>` +
        `<clipPath id="c-${anchor(t)}-${s.id}"><rect x="${x0.toFixed(1)}" y="${by}" width="${(x1 - x0 - 2).toFixed(1)}" height="${BAR}"/></clipPath>` : "";
      parts.push(`<g class="${cls}" data-step="${s.id}" data-board="${esc(lane)}" data-start="${s.startMs}" data-end="${s.endMs ?? total}">` +
        `<title>${esc(tip)}</title><rect x="${x0.toFixed(1)}" y="${by}" width="${(x1 - x0).toFixed(1)}" height="${BAR}" rx="2"/>${label}</g>`);
    }
    parts.push("</g>");
    y += h + 4;
  }
  if (t.lan) {
    const kinds = LAN_KINDS.filter((k) => t.lan!.events.some((e) => e.kind === k));
    // Transactions that overlap (a transfer the server still retries while the next one runs) get rows of their own.
    const packed = kinds.map((k) => ({ kind: k, ...packRows(t.lan!.events.filter((e) => e.kind === k)) }));
    const h = Math.max(1, packed.reduce((n, p) => n + p.rows, 0)) * ROW + 8;
    parts.push(`<g class="lane lan"><rect class="lane-bg" x="0" y="${y}" width="${W}" height="${h}"/><text class="lane-label" x="6" y="${y + 16}">lab LAN</text>`);
    if (!kinds.length) {
      const why = t.lan.unrecorded ? `the LAN's logs could not be read: ${t.lan.unrecorded}` : "no DHCP, TFTP, HTTP or NBD transactions, no fault firings";
      parts.push(`<text class="note" x="${LABEL}" y="${y + 16}">${esc(why)}</text>`);
    }
    let row = 0;
    for (const { kind: k, rows, placed } of packed) {
      parts.push(`<text class="kind-label" x="${LABEL - 6}" y="${y + 4 + row * ROW + 11}" text-anchor="end">${k}</text>`);
      for (const { event: e, row: r } of placed) {
        const ry = y + 4 + (row + r) * ROW;
        const tip = esc(`${k} at ${secs(e.atMs)}${e.endMs !== undefined ? `–${secs(e.endMs)}` : ""}${e.board ? ` · ${e.board}` : ""}\n${e.summary}`);
        const cls = `lan-event ${k}${e.problem ? " problem" : ""}`;
        if (e.endMs !== undefined && x(e.endMs) - x(e.atMs) > 3) {
          parts.push(`<g class="${cls}" data-at="${e.atMs}"><title>${tip}</title><rect x="${x(e.atMs).toFixed(1)}" y="${ry + 2}" width="${(x(e.endMs) - x(e.atMs)).toFixed(1)}" height="${BAR - 4}" rx="2"/></g>`);
        } else {
          const cx = x(e.atMs);
          parts.push(`<g class="${cls}" data-at="${e.atMs}"><title>${tip}</title><path d="M${cx.toFixed(1)} ${ry + 1}l5 6l-5 6l-5 -6z"/></g>`);
        }
      }
      row += rows;
    }
    parts.push("</g>");
    y += h + 4;
  }
  // The time axis, and a line where the failing step ended.
  const step = tickStep(total);
  const ticks: string[] = [];
  for (let ms = 0; ms <= total; ms += step) {
    ticks.push(`<line class="tick" x1="${x(ms).toFixed(1)}" x2="${x(ms).toFixed(1)}" y1="18" y2="${y}"/><text class="tick-label" x="${x(ms).toFixed(1)}" y="12" text-anchor="middle">${secs(ms)}</text>`);
  }
  const failing = failingId === undefined ? undefined : byId.get(failingId);
  const failLine = failing?.endMs !== undefined
    ? `<line class="fail-line" x1="${x(failing.endMs).toFixed(1)}" x2="${x(failing.endMs).toFixed(1)}" y1="18" y2="${y}"><title>${esc(`failed at ${secs(failing.endMs)}: ${failing.name}`)}</title></line>`
    : "";
  return `<figure class="timeline"><svg viewBox="0 0 ${W} ${y + 4}" width="100%" role="img" aria-label="timeline of ${esc(t.scenario)} on ${esc(t.target)}">
${ticks.join("")}${parts.join("\n")}${failLine}</svg>
<figcaption><span class="key passed"></span>passed <span class="key failed"></span>failed <span class="key failing"></span>the failing step <span class="key cut"></span>cut short by the run's end
${t.lan ? LAN_KINDS.map((k) => `<span class="key lan-event ${k}"></span>${k}`).join(" ") : ""} · hover for details, click a step to see its console lines</figcaption></figure>`;
}

// ---- consoles ----

/** Indexes of the console lines to highlight: around the line the failure quotes, else the last ones before it. */
export function highlighted(lines: ConsoleLine[], failure: { seen?: string; atMs?: number }): Set<number> {
  const out = new Set<number>();
  if (!lines.length) return out;
  const seen = failure.seen?.trim();
  let at = seen ? lastIndex(lines, (l) => !!l.text.trim() && (l.text.includes(seen) || seen.includes(l.text.trim()))) : -1;
  if (at < 0 && failure.atMs !== undefined) at = lastIndex(lines, (l) => l.atMs <= failure.atMs! + 50);
  if (at < 0) at = lines.length - 1;
  for (let i = Math.max(0, at - 6); i <= Math.min(lines.length - 1, at + 2); i++) out.add(i);
  return out;
}

function lastIndex<T>(a: readonly T[], ok: (v: T) => boolean): number {
  for (let i = a.length - 1; i >= 0; i--) if (ok(a[i]!)) return i;
  return -1;
}

function consoles(t: Timeline): string {
  if (!t.boards.length) return "";
  const f = t.failure;
  const failing = f?.stepId === undefined ? undefined : t.steps.find((s) => s.id === f.stepId);
  return t.boards.map((b, bi) => {
    const mine = f && (f.board === b.name || (f.board === undefined && t.boards.length === 1));
    const hl = mine ? highlighted(b.console, { seen: f.seen, atMs: failing?.endMs }) : new Set<number>();
    const rows = b.console.map((l, i) => `<div class="l${hl.has(i) ? " hl" : ""}" data-t="${l.atMs}"><span class="t">${(l.atMs / 1000).toFixed(3).padStart(8)}</span>${esc(l.text) || " "}</div>`);
    const label = t.boards.filter((o) => o.name === b.name).length > 1 ? `${b.name} (power-on ${t.boards.slice(0, bi + 1).filter((o) => o.name === b.name).length})` : b.name;
    return `<details class="console" ${mine || t.boards.length === 1 ? "open" : ""} data-board="${esc(b.name)}"><summary>console of ${esc(label)} <span class="note">${b.console.length} lines${b.omitted ? `, the first ${b.omitted} left out (see the full log)` : ""} · powered on at ${secs(b.startedMs)} · MAC ${esc(b.mac)}</span></summary>
<div class="lines">${rows.join("\n")}</div></details>`;
  }).join("\n");
}

const CSS = `
:root{--ok:#2e7d32;--bad:#c62828;--cut:#e0a0a0;--bg:#fafafa;--fg:#222;--mute:#777}
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0 auto;max-width:1260px;padding:0 16px 48px;color:var(--fg);background:var(--bg)}
h1{font-size:22px;margin:16px 0 2px}h2{font-size:17px;margin:0 0 2px}h4{margin:0 0 2px;font-size:12px;color:var(--mute);text-transform:uppercase}
.note,.on{color:var(--mute);font-weight:normal;font-size:12px}.counts{margin:0 0 12px;color:var(--mute)}
table.summary{border-collapse:collapse;width:100%;background:#fff;margin-bottom:20px}
.summary th,.summary td{border-bottom:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}.summary td.num{text-align:right;white-space:nowrap}
.badge{display:inline-block;padding:0 6px;border-radius:3px;color:#fff;font-size:12px;font-weight:600}.badge.passed{background:var(--ok)}.badge.failed{background:var(--bad)}
.kind{font-weight:600;font-size:12px;padding:0 4px;border-radius:3px;background:#fde0e0;color:var(--bad)}
.kind.scenario{background:#fff0c8;color:#8a5a00}.kind.infrastructure,.kind.bug{background:#e8e0f8;color:#5a2ca0}
.links a{margin-right:8px;white-space:nowrap}
section.pair{background:#fff;border:1px solid #ddd;border-left:4px solid var(--ok);padding:10px 14px;margin:0 0 20px}section.pair.failed{border-left-color:var(--bad)}
.name{margin:0 0 8px;color:#444}
.failure{border:1px solid #f0b0b0;background:#fff6f6;padding:8px 10px;margin:6px 0 10px}.failure .msg{font-weight:600;margin-bottom:4px;white-space:pre-wrap}
.failure dl{display:grid;grid-template-columns:max-content 1fr;gap:0 10px;margin:0 0 6px}.failure dt{color:var(--mute)}.failure dd{margin:0}
.versus{display:grid;grid-template-columns:1fr 1fr;gap:10px}.versus pre{margin:0;padding:6px;white-space:pre-wrap;word-break:break-all;font-size:12px}
pre.expected{background:#eef7ee;border:1px solid #bcdcbc}pre.seen{background:#fdeeee;border:1px solid #e8b4b4}
figure.timeline{margin:8px 0}figcaption{font-size:12px;color:var(--mute)}
svg{display:block;font:11px system-ui,sans-serif}
.lane-bg{fill:#f4f6f8}.lane.lan .lane-bg{fill:#eef2f8}.lane-label{font-weight:600;fill:#333}.kind-label{fill:var(--mute);font-size:10px}
.tick{stroke:#e3e3e3}.tick-label{fill:var(--mute);font-size:10px}
.step rect{fill:#8fc79a;stroke:#5d9b69;stroke-width:.5}.step.failed rect{fill:#f2a0a0;stroke:#c06060}.step.cut rect{fill:#f6d0d0;stroke:#d09090;stroke-dasharray:3 2}
.step.failing rect{fill:var(--bad);stroke:#600;stroke-width:2}.step.failing .bar-label{fill:#fff;font-weight:700}
.step{cursor:pointer}.step:hover rect{stroke:#000;stroke-width:1.5}.step.selected rect{stroke:#1565c0;stroke-width:2.5}.bar-label{fill:#123;pointer-events:none}
.lan-event rect,.lan-event path{fill:#607d8b}.lan-event.dhcp rect,.lan-event.dhcp path{fill:#1e88e5}.lan-event.tftp rect,.lan-event.tftp path{fill:#43a047}
.lan-event.http rect,.lan-event.http path{fill:#8e24aa}.lan-event.nbd rect,.lan-event.nbd path{fill:#fb8c00}
.lan-event.fault rect,.lan-event.fault path,.lan-event.duplicate-mac path{fill:#d50000}.lan-event.problem rect,.lan-event.problem path{stroke:#b00;stroke-width:1.5}
.fail-line{stroke:var(--bad);stroke-width:1.5;stroke-dasharray:4 3}
.key{display:inline-block;width:12px;height:10px;margin:0 3px 0 10px;vertical-align:middle;background:#8fc79a}.key.failed{background:#f2a0a0}.key.failing{background:var(--bad)}.key.cut{background:#f6d0d0}
.key.lan-event{background:#607d8b}.key.dhcp{background:#1e88e5}.key.tftp{background:#43a047}.key.http{background:#8e24aa}.key.nbd{background:#fb8c00}.key.fault,.key.duplicate-mac{background:#d50000}
details.console{margin:6px 0}details.console summary{cursor:pointer;font-weight:600}
.lines{font:12px/1.35 ui-monospace,"DejaVu Sans Mono",monospace;background:#111;color:#ddd;max-height:360px;overflow:auto;padding:4px 0}
.l{white-space:pre-wrap;word-break:break-all;padding:0 8px}.l .t{color:#888;margin-right:8px;user-select:none}
.l.hl{background:#5a1a1a;color:#fff}.l.in-step{background:#1a3a5a}
`;

// Small and optional: the page reads fine without it. Clicking a step shows that board's console lines
// from the step's time; the failing board's highlighted lines are scrolled into view at load.
const JS = `
(function(){
  document.querySelectorAll(".console .lines").forEach(function(box){
    var hl=box.querySelector(".l.hl"); if(hl) box.scrollTop=Math.max(0,hl.offsetTop-box.offsetTop-80);
  });
  document.querySelectorAll("g.step").forEach(function(g){
    g.addEventListener("click",function(){
      var sec=g.closest("section"), s=+g.dataset.start, e=+g.dataset.end, board=g.dataset.board;
      sec.querySelectorAll("g.step.selected").forEach(function(o){o.classList.remove("selected")});
      g.classList.add("selected");
      sec.querySelectorAll(".l.in-step").forEach(function(l){l.classList.remove("in-step")});
      var con=null; sec.querySelectorAll("details.console").forEach(function(d){ if(d.dataset.board===board) con=d; });
      if(!con) return; con.open=true; var first=null;
      con.querySelectorAll(".l").forEach(function(l){ var t=+l.dataset.t; if(t>=s&&t<=e){ l.classList.add("in-step"); if(!first) first=l; } });
      if(first){ var box=con.querySelector(".lines"); box.scrollTop=first.offsetTop-box.offsetTop; }
    });
  });
  document.body.dataset.ready=String(document.querySelectorAll("g.step").length);
})();
`;
