// The expect engine: a text stream from a serial port, and waits on it. Every wait has a step name and a
// deadline. Bad patterns (panic, Oops, an unexpected reset) are checked on every complete line, always,
// and fail the pending wait — and every later one — with the line that matched. A line that a kernel message
// cut in two still matches, and the kernel's message is checked as a line of its own (kernel-interjections.ts).

import { ProductFailure, ScenarioError, StepTimeout, type BootlabFailure } from "../errors/failures.ts";
import type { BadPattern } from "./bad-patterns.ts";
import { callSite } from "../errors/stack.ts";
import { linePieces, liftInterjections } from "./kernel-interjections.ts";

/** Text to wait for: a string matches itself anywhere, a RegExp as written. */
export type Pattern = string | RegExp;

/** Options of one wait on a console. */
export interface ExpectOptions {
  /** The step's name, for the timeline and the failure. */
  step: string;
  /** The wait's deadline. */
  timeoutMs: number;
  /** Names of bad patterns this wait expects (e.g. "kernel-panic" in a panic test). */
  allow?: string[];
}

/** What a wait found. */
export interface Match {
  /** Index of the pattern that matched, when several were given. */
  index: number;
  /** The matched text. */
  text: string;
  /** The RegExp's capture groups (empty for a string). */
  groups: string[];
  /** Text between the previous match and this one. */
  before: string;
}

interface Pending {
  patterns: RegExp[];
  opts: ExpectOptions;
  resolve: (m: Match) => void;
  reject: (e: BootlabFailure) => void;
  timer: ReturnType<typeof setTimeout>;
}

const MAX_BUFFER = 1 << 20;
const TAIL_LINES = 20;

/** Strings match literally; a regex loses any g/y flag so exec() always searches from the start. */
function toRegExp(p: Pattern): RegExp {
  if (typeof p === "string") return new RegExp(p.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  return p.global || p.sticky ? new RegExp(p.source, p.flags.replace(/[gy]/g, "")) : p;
}

/**
 * A pattern that matches only once the line it is in has ended: the match runs to the end of that line.
 * For lines quoted in a failure — a console chunk can end mid-line, and half a line is no quote.
 */
export function wholeLine(re: RegExp): RegExp {
  return new RegExp(`(?:${re.source})[^\\n]*\\n`, re.flags.replace(/[gy]/g, ""));
}

export class ExpectStream {
  readonly name: string;
  /** Unconsumed text; matches consume it up to their end. */
  #buffer = "";
  /** Offset in #buffer up to which complete lines were checked for bad patterns. */
  #scanned = 0;
  #tail: string[] = [];
  #partial = "";
  #pending: Pending | undefined;
  #failure: BootlabFailure | undefined;
  #bad: BadPattern[];
  #badCounts = new Map<string, number>();
  #allowed = new Set<string>();

  constructor(name: string, bad: BadPattern[] = []) {
    this.name = name;
    this.#bad = bad;
  }

  /** The last console lines, for failure reports. */
  tail(n = TAIL_LINES): string[] {
    const lines = this.#tail.slice(-n);
    if (this.#partial.trim()) lines.push(this.#partial);
    return lines.slice(-n);
  }

  get failure(): BootlabFailure | undefined {
    return this.#failure;
  }

  /** Feeds decoded console text (carriage returns already removed). */
  push(text: string): void {
    if (!text) return;
    this.#buffer += text;
    // Only a chunk with a line feed is split: re-splitting a long unfinished line with every chunk is quadratic.
    const nl = text.lastIndexOf("\n");
    if (nl < 0) this.#partial += text;
    else {
      for (const l of (this.#partial + text.slice(0, nl)).split("\n")) this.#tail.push(l);
      this.#partial = text.slice(nl + 1);
    }
    // A console that never ends its line (noise, a progress bar drawn with \r) keeps the line's end, as the buffer does.
    if (this.#partial.length > MAX_BUFFER) this.#partial = this.#partial.slice(-MAX_BUFFER / 2);
    if (this.#tail.length > 200) this.#tail.splice(0, this.#tail.length - 200);
    // Complete lines only come with a line feed; looking for one in the whole buffer per chunk is quadratic too.
    if (nl >= 0) this.#scan(false);
    this.#tryMatch();
    if (this.#buffer.length > MAX_BUFFER) {
      const cut = this.#buffer.length - MAX_BUFFER / 2;
      this.#buffer = this.#buffer.slice(cut);
      this.#scanned = Math.max(0, this.#scanned - cut);
    }
  }

  /** Fails the pending wait and all later ones (the machine stopped, the console broke). */
  fail(err: BootlabFailure): void {
    if (this.#failure) return;
    this.#failure = err.withContext({ consoleTail: this.tail() });
    const p = this.#pending;
    if (p) {
      this.#pending = undefined;
      clearTimeout(p.timer);
      p.reject(this.#failure.withContext({ step: p.opts.step }));
    }
  }

  /** Runs `fn` with some bad patterns allowed (e.g. a step that reboots the board on purpose). */
  async allowing<T>(names: string[], fn: () => Promise<T>): Promise<T> {
    const added = names.filter((n) => !this.#allowed.has(n));
    for (const n of added) this.#allowed.add(n);
    try {
      return await fn();
    } finally {
      for (const n of added) this.#allowed.delete(n);
    }
  }

  expect(pattern: Pattern | Pattern[], opts: ExpectOptions): Promise<Match> {
    if (this.#pending) {
      return Promise.reject(new ScenarioError(`${this.name}: expect("${opts.step}") while "${this.#pending.opts.step}" is still waiting`, {
        at: callSite(), expected: "one wait at a time on a console: await each expect before the next",
      }));
    }
    const patterns = (Array.isArray(pattern) ? pattern : [pattern]).map(toRegExp);
    return new Promise<Match>((resolve, reject) => {
      if (this.#failure) {
        reject(this.#failure.withContext({ step: opts.step }));
        return;
      }
      const timer = setTimeout(() => {
        if (this.#pending?.timer !== timer) return;
        this.#scan(true); // a bad line with no newline yet is still the better explanation
        if (this.#pending?.timer !== timer) return;
        this.#pending = undefined;
        reject(new StepTimeout(`no ${describePatterns(patterns)} on ${this.name} within ${(opts.timeoutMs / 1000).toFixed(1)} s`, {
          step: opts.step,
          expected: describePatterns(patterns),
          consoleTail: this.tail(),
        }));
      }, opts.timeoutMs);
      this.#pending = { patterns, opts, resolve, reject, timer };
      this.#scan(false);
      this.#tryMatch();
    });
  }

  #isAllowed(name: string): boolean {
    return this.#allowed.has(name) || (this.#pending?.opts.allow?.includes(name) ?? false);
  }

  /** Checks complete lines (and, at a deadline, the partial one) for bad patterns. */
  #scan(includePartial: boolean): void {
    if (this.#failure) return;
    while (this.#scanned < this.#buffer.length) {
      let nl = this.#buffer.indexOf("\n", this.#scanned);
      if (nl < 0) {
        if (!includePartial) return;
        nl = this.#buffer.length;
      }
      const line = this.#buffer.slice(this.#scanned, nl);
      const pieces = linePieces(line);
      let lineEnd = Math.min(nl + 1, this.#buffer.length);
      for (const b of this.#bad) {
        const hit = firstExec(b.pattern, pieces);
        if (!hit) continue;
        const count = (this.#badCounts.get(b.name) ?? 0) + 1;
        this.#badCounts.set(b.name, count);
        if (count <= (b.allowedTimes ?? 0) || this.#isAllowed(b.name)) continue;
        // If what the step waits for is already in the text up to this line, the step wanted it.
        const consumed = this.#tryMatch(lineEnd);
        if (consumed >= 0) {
          lineEnd -= consumed;
          break;
        }
        this.#scanned = lineEnd;
        this.fail(new ProductFailure(`${b.name} on ${this.name}: ${hit.m[0].trim()}`, { seen: hit.piece.trim() }));
        return;
      }
      this.#scanned = lineEnd;
    }
  }

  /**
   * Matches the pending wait against the buffer (optionally only up to `limit`); returns the length consumed, or
   * -1. Where a kernel message cut into a line, the line is also looked for as the program wrote it
   * (kernel-interjections.ts); the earlier match wins, the lifted lines stay in `before`.
   */
  #tryMatch(limit = this.#buffer.length): number {
    const p = this.#pending;
    if (!p) return -1;
    const hay = limit === this.#buffer.length ? this.#buffer : this.#buffer.slice(0, limit);
    let best = firstMatch(p.patterns, hay, (i) => i);
    const lifted = liftInterjections(hay);
    if (lifted) {
      const other = firstMatch(p.patterns, lifted.text, (i, edge) => lifted.toReceived(i, edge));
      if (other && (!best || other.start < best.start)) best = other;
    }
    if (!best) return -1;
    const match: Match = {
      index: best.index,
      text: best.m[0],
      groups: best.m.slice(1).map((g) => g ?? ""),
      before: this.#buffer.slice(0, best.start),
    };
    this.#buffer = this.#buffer.slice(best.end);
    this.#scanned = Math.max(0, this.#scanned - best.end);
    this.#pending = undefined;
    clearTimeout(p.timer);
    p.resolve(match);
    return best.end;
  }
}

/** The earliest match of any pattern in `text`, with its start and end in the buffer (`toBuffer`). */
function firstMatch(patterns: RegExp[], text: string, toBuffer: (i: number, edge: "start" | "end") => number):
  { index: number; m: RegExpExecArray; start: number; end: number } | undefined {
  let best: { index: number; m: RegExpExecArray } | undefined;
  patterns.forEach((re, index) => {
    const m = re.exec(text);
    if (m && (!best || m.index < best.m.index)) best = { index, m };
  });
  if (!best) return undefined;
  const { index, m } = best;
  return { index, m, start: toBuffer(m.index, "start"), end: toBuffer(m.index + m[0].length, "end") };
}

/** The first of a line's pieces (linePieces) that `re` matches, and the match. */
function firstExec(re: RegExp, pieces: string[]): { m: RegExpExecArray; piece: string } | undefined {
  for (const piece of pieces) {
    const m = re.exec(piece);
    if (m) return { m, piece };
  }
  return undefined;
}

function describePatterns(ps: RegExp[]): string {
  return ps.map((p) => `/${p.source}/`).join(" or ");
}
