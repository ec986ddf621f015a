// What timeline.json holds: everything a report of one scenario × target needs, so a report can be made
// from the files afterwards (on another machine, from a CI artifact). Plain data, on one time axis:
// milliseconds since the run began.

/** How a step stands: running until it ends, then passed or failed. */
export type StepStatus = "running" | "passed" | "failed";
/** The failure kinds of harness/errors, as data (this folder depends on nothing). */
export type TimelineFailureKind = "product" | "scenario" | "infrastructure" | "timeout" | "bug";

/**
 * One step of a run's timeline (`ScenarioResult.steps`, timeline.json): its id, parent and board, its name and
 * times, and how it ended.
 */
export interface StepRecord {
  /** 1, 2, … in the order the steps started; unique in a run. */
  id: number;
  /** The step this one ran inside; none for the scenario's top-level steps. */
  parent?: number;
  /** The board the step acted on (its own, or inherited from its parent). */
  board?: string;
  /** What the step waits for or does, as the timeline and failures show it. */
  name: string;
  /** Nesting depth: 0 for steps the scenario runs, 1+ for the steps inside them. */
  depth: number;
  /** Milliseconds since the run began. */
  startMs: number;
  /** When it ended (absent while running). */
  endMs?: number;
  status: StepStatus;
  failure?: { kind: TimelineFailureKind; message: string };
  /**
   * Failed because the run ended around it (the scenario's deadline, another step's failure), not by
   * anything it saw itself.
   */
  cutShort?: true;
}

/**
 * A failed run's failure as timeline.json keeps it: kind, message, where (step, board, the scenario's line),
 * expected and seen, the console tail, the whole report.
 */
export interface TimelineFailure {
  /** Which of the five kinds. */
  kind: TimelineFailureKind;
  /** The failure's message. */
  message: string;
  /** The step it happened in (the innermost), and that step's board. */
  stepId?: number;
  step?: string;
  board?: string;
  /** What the step waited for or required. */
  expected?: string;
  /** The line or value that decided it. */
  seen?: string;
  /** The last lines of that board's console. */
  consoleTail?: string[];
  /** The scenario's line, for a scenario's mistake. */
  at?: string;
  /** What to do about it, when the cause is known. */
  fix?: string;
  /** What the lab's own services and switch saw of it. */
  lab?: string[];
  /** The whole text report, as failure.txt has it. */
  report: string;
}

/** A console line and when it was complete (ms since the run began). */
export interface ConsoleLine {
  /** When the line was complete (ms since the run began). */
  atMs: number;
  /** The line, without its end. */
  text: string;
}

/**
 * A board of the run, as timeline.json keeps it: name, target, MAC, start, its files and its console's last lines.
 */
export interface TimelineBoard {
  /** The board's name in the lab. */
  name: string;
  /** Its target. */
  target: string;
  /** When its machine started (a board powered on twice is two entries). */
  startedMs: number;
  /** Its NIC's MAC. */
  mac: string;
  /** Files of this board, relative to the timeline.json folder. */
  files: { console?: string; consoleRaw?: string; repro?: string; qemuCmdline?: string };
  /** The console's last lines with their times (at most CONSOLE_LINES; `omitted` earlier ones left out). */
  console: ConsoleLine[];
  /** Console lines left out before `console`. */
  omitted: number;
}

/** What a lab LAN event is about: a DHCP, TFTP, HTTP or NBD transaction, a fault firing, or one MAC on two ports. */
export type LanEventKind = "dhcp" | "tftp" | "http" | "nbd" | "fault" | "duplicate-mac";

/** One transaction on the lab LAN or one fault firing, for the LAN's lane of a timeline. */
export interface LanEvent {
  /** What it is about. */
  kind: LanEventKind;
  /** When it started (ms since the run began). */
  atMs: number;
  /** For things that last (a TFTP transfer, an NBD session). */
  endMs?: number;
  /** The board on the other end, when the lab knows it (by MAC or leased address). */
  board?: string;
  /** One line: "DISCOVER → OFFER 192.168.1.31", "RRQ kernel 6.1 MB ok". */
  summary: string;
  /** Not what was asked for: an error, a NAK, a withheld answer. */
  problem?: boolean;
}

/**
 * What timeline.json holds: everything a report of one scenario × target needs (steps, boards, the LAN's events,
 * the failure), on one time axis — ms since the run began.
 */
export interface Timeline {
  /** The format of this file; bumped when a reader would misread it. */
  format: 2;
  /** The scenario id. */
  scenario: string;
  /** The scenario's name. */
  name: string;
  /** The target's name. */
  target: string;
  /** How the run ended (passed also when a declared expectFailure happened). */
  status: "passed" | "failed";
  /** Wall-clock start, ISO 8601. */
  startedAt: string;
  /** Wall time of the run. */
  durationMs: number;
  /** The failure, for a failed run (and for an expected failure that happened). */
  failure?: TimelineFailure;
  /** The scenario reproduces a failure, and it happened (the run passed because of it). */
  expectedFailureSeen?: boolean;
  /** Every step, in start order. */
  steps: StepRecord[];
  /** Every board powered on, in order. */
  boards: TimelineBoard[];
  /** The lab LAN: its subnet, its events, its files (absent when the run had no LAN). */
  lan?: {
    subnet: string;
    events: LanEvent[];
    files: { pcap: string; log: string };
    /** Why `events` is empty though the LAN ran: its logs could not be read (a scenario broke the LAN's objects). */
    unrecorded?: string;
  };
  /** Run-wide files, relative to this folder. */
  files: { runLog: string; failure?: string };
}

export const CONSOLE_LINES = 400;

/**
 * The board a step belongs to: its own, or — for a step of the scenario's (no board of its own) — the one
 * board all the steps inside it belong to. Undefined when it touches none or several.
 */
export function boardOfStep(id: number, steps: readonly StepRecord[]): string | undefined {
  const byId = new Map(steps.map((s) => [s.id, s]));
  const own = byId.get(id)?.board;
  if (own !== undefined) return own;
  const seen = new Set<string>();
  const children = new Map<number, StepRecord[]>();
  for (const s of steps) if (s.parent !== undefined) (children.get(s.parent) ?? children.set(s.parent, []).get(s.parent)!).push(s);
  const walk = (p: number) => {
    for (const c of children.get(p) ?? []) {
      if (c.board !== undefined) seen.add(c.board);
      else walk(c.id);
    }
  };
  walk(id);
  return seen.size === 1 ? [...seen][0] : undefined;
}

/**
 * The board a failure belongs to, whose console tail it quotes: the board its step named, else the one
 * board of that step's inside, else the lab's only board. Undefined rather than a guess when several
 * boards ran and nothing says which.
 */
export function boardOfFailure(f: { board?: string; stepId?: number }, steps: readonly StepRecord[], boards: readonly string[]): string | undefined {
  const fromStep = f.board ?? (f.stepId !== undefined ? boardOfStep(f.stepId, steps) : undefined);
  if (fromStep !== undefined) return fromStep;
  const names = new Set(boards);
  return names.size === 1 ? [...names][0] : undefined;
}
