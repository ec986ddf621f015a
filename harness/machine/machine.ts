// A QEMU machine started from a target and a boot plan. The harness listens on every socket first
// (consoles, QMP, LAN ports) and QEMU connects to them as it initialises, before the guest runs — so no
// byte of output is lost and a NIC cannot silently miss its LAN (QEMU 7.2 never reconnects).
// The process is owned: stopped on success, failure and Ctrl-C, and killed by its watchdog if the
// harness itself dies.

import { spawn, type ChildProcess } from "node:child_process";
import { createServer, type Server, type Socket } from "node:net";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Target } from "../targets/catalogue.ts";
import type { Owner } from "../lifecycle/owner.ts";
import { InfrastructureError, ProductFailure, StepTimeout } from "../errors/failures.ts";
import { type MachinePlan, qemuArgs, shellQuote } from "./qemu-args.ts";
import { rearmCpuTimer } from "./cpu-timer.ts";
import { lowerVcpuPriority } from "./vcpu-priority.ts";
import { QmpClient } from "./qmp.ts";
import { diagnoseQemuExit } from "./qemu-diagnosis.ts";
import { SerialConsole } from "../console/serial-console.ts";
import type { BadPattern } from "../console/bad-patterns.ts";

const WATCHDOG = join(dirname(fileURLToPath(import.meta.url)), "watchdog.sh");
/** QEMU's descriptor for an incoming saved state: watchdog.sh opens BOOTLAB_INCOMING_STATE on it. */
const INCOMING_FD = 4;

export interface MachineOptions {
  name: string;
  target: Target;
  /** What the board is made of and boots from. */
  plan: MachinePlan;
  /** Folder for transcripts and the command line. */
  artifacts: string;
  /** Short folder for unix sockets (paths must stay under 108 bytes). */
  runDir: string;
  owner: Owner;
  badPatterns: BadPattern[];
  /** How long QEMU may take to start and connect its sockets. */
  startTimeoutMs?: number;
  /** Start from a saved machine state (a migration stream in a file) instead of powering on. */
  incoming?: string;
  /** Start with the CPUs stopped (the preflight). */
  paused?: boolean;
}

export interface ExitInfo {
  code: number | null;
  signal: string | null;
  stderr: string;
}

/** Accepts the first connection on a fresh unix socket; QEMU connects as the client. */
function listenOnce(path: string): { server: Server; connection: Promise<Socket> } {
  rmSync(path, { force: true });
  const server = createServer();
  const connection = new Promise<Socket>((resolve, reject) => {
    server.once("connection", (s: Socket) => resolve(s));
    server.once("error", reject);
  });
  server.listen(path);
  return { server, connection };
}

export class Machine {
  readonly name: string;
  readonly target: Target;
  readonly argv: string[];
  readonly console: SerialConsole;
  readonly qmp: QmpClient;
  readonly exited: Promise<ExitInfo>;
  #child: ChildProcess;
  #expectingExit = false;
  #exitInfo: ExitInfo | undefined;
  /** Where QEMU's gdbstub listens while bootlab re-arms a CPU timer after a restore (cpu-timer.ts). */
  #gdbSocket: string;

  private constructor(name: string, target: Target, argv: string[], console: SerialConsole, qmp: QmpClient, child: ChildProcess, exited: Promise<ExitInfo>, gdbSocket: string) {
    this.name = name;
    this.#gdbSocket = gdbSocket;
    this.target = target;
    this.argv = argv;
    this.console = console;
    this.qmp = qmp;
    this.#child = child;
    this.exited = exited;
    exited.then((info) => {
      this.#exitInfo = info;
      this.console.stream.fail(this.#exitFailure(info));
    });
  }

  /** The watchdog shell's process id (watchdog.sh, which runs QEMU as its child); see qemuPid. */
  get pid(): number | undefined {
    return this.#child.pid;
  }

  /** QEMU's own process id: the thread group of its first vCPU thread. */
  async qemuPid(): Promise<number> {
    const cpus = await this.command<{ "thread-id"?: number }[]>("query-cpus-fast");
    const tid = cpus.find((c) => c["thread-id"])?.["thread-id"];
    const tgid = tid ? readFileSync(`/proc/${tid}/status`, "utf8").match(/^Tgid:\s+(\d+)/m)?.[1] : undefined;
    if (!tgid) throw new InfrastructureError(`QEMU for ${this.name}: no vCPU thread to find its process by`);
    return Number(tgid);
  }

  get running(): boolean {
    return this.#exitInfo === undefined;
  }

  #exitFailure(info: ExitInfo) {
    const how = info.signal ? `was killed by ${info.signal}` : `exited with code ${info.code}`;
    if (this.#expectingExit) return new ProductFailure(`${this.name} has powered off`, { seen: `QEMU ${how}` });
    if (info.code === 0) {
      return new ProductFailure(`${this.name} powered off unexpectedly (QEMU ${how})`, { seen: `QEMU ${how}` });
    }
    return qemuDied(this.name, this.target, info, "");
  }

  /**
   * A QMP command whose failure, when QEMU has died under it, is reported as QEMU's death in QEMU's own
   * words — never as the socket error that the death caused.
   */
  async command<T = unknown>(command: string, args?: Record<string, unknown>, timeoutMs?: number): Promise<T> {
    try {
      return await this.qmp.execute<T>(command, args, timeoutMs);
    } catch (e) {
      const info = await exitWithin(this.exited, 2000);
      throw info ? this.#exitFailure(info) : e;
    }
  }

  static async start(o: MachineOptions): Promise<Machine> {
    const consolePlan = { id: "con0", socket: join(o.runDir, `${o.name}-con0.sock`), logfile: join(o.artifacts, `console-${o.target.machine.console.linuxDevice}.raw`) };
    const qmpSocket = join(o.runDir, `${o.name}-qmp.sock`);
    const gdbSocket = join(o.runDir, `${o.name}-gdb.sock`);
    // A saved state is read from a file descriptor the watchdog opens (INCOMING_FD): through `exec:cat`, every
    // 64 KiB pipe buffer is a switch between cat and QEMU on two busy cores (virt-arm64's 62 MB state loaded
    // in 216 ms median through cat, 113 ms from the fd, 8 runs each).
    const extraArgs = [...(o.plan.extraArgs ?? []), ...(o.incoming ? ["-incoming", `fd:${INCOMING_FD}`] : [])];
    const argv = qemuArgs({ ...o.plan, target: o.target, consoles: [consolePlan], qmpSocket, extraArgs, ...(o.paused ? { paused: true } : {}) });
    // As a shell runs it: the redirection gives QEMU the state on that descriptor.
    const redirect = o.incoming ? ` ${INCOMING_FD}<${shellQuote([o.incoming])}` : "";
    writeFileSync(join(o.artifacts, "qemu-cmdline.txt"), shellQuote(argv) + redirect + "\n");

    const con = listenOnce(consolePlan.socket);
    const qmpL = listenOnce(qmpSocket);
    const closeListeners = () => {
      for (const l of [con, qmpL]) l.server.close();
      rmSync(consolePlan.socket, { force: true });
      rmSync(qmpSocket, { force: true });
      rmSync(gdbSocket, { force: true });
    };
    o.owner.adopt(`${o.name} sockets`, closeListeners);

    const t0 = performance.now();
    const child = spawn("sh", [WATCHDOG, ...argv], {
      stdio: ["pipe", "ignore", "pipe"], detached: true,
      ...(o.incoming ? { env: { ...process.env, BOOTLAB_INCOMING_STATE: o.incoming } } : {}),
    });
    let stderr = "";
    child.stderr!.on("data", (b: Buffer) => {
      stderr = (stderr + b.toString("utf8")).slice(-8192);
    });
    child.stdin!.on("error", () => {});
    const exited = new Promise<ExitInfo>((resolve) => {
      child.on("exit", (code, signal) => resolve({ code, signal, stderr }));
      child.on("error", (e) => resolve({ code: -1, signal: null, stderr: `could not start: ${e.message}` }));
    });
    // Stop order: ask QEMU to quit, then TERM the process group, then KILL; finally drop the watchdog pipe.
    o.owner.adopt(`${o.name} QEMU`, async () => {
      await stopProcess(child, exited, qmpClient);
    });

    let qmpClient: QmpClient | undefined;
    const timeout = o.startTimeoutMs ?? 15_000;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const startFailed = new Promise<never>((_, reject) => {
      exited.then((info) => reject(qemuDied(o.name, o.target, info, "during start-up")));
      timer = setTimeout(() => reject(new InfrastructureError(
        `QEMU for ${o.name} did not connect its console and QMP sockets within ${timeout / 1000} s`,
        { seen: stderr.trim() },
      )), timeout);
    });
    try {
      const [conSock, qmpSock] = await Promise.race([Promise.all([con.connection, qmpL.connection]), startFailed]);
      const console = new SerialConsole(consolePlan.id, join(o.artifacts, `console-${o.target.machine.console.linuxDevice}.log`), o.badPatterns, t0);
      o.owner.adopt(`${o.name} console`, () => console.close());
      console.attach(conSock);
      qmpClient = await Promise.race([QmpClient.connect(qmpSock), startFailed]);
      await Promise.race([lowerVcpuPriority(qmpClient), startFailed]);
      return new Machine(o.name, o.target, argv, console, qmpClient, child, exited, gdbSocket);
    } catch (e) {
      // QEMU connects its sockets before it builds the devices: a device that fails (a missing option
      // ROM) ends QEMU right after, and the QMP handshake sees a reset socket. QEMU's exit is the news.
      const info = await exitWithin(exited, 3000);
      throw info ? qemuDied(o.name, o.target, info, "during start-up") : e;
    } finally {
      clearTimeout(timer);
      startFailed.catch(() => {});
    }
  }

  /** Waits for QEMU to exit because the guest powered off (the step expects it). */
  async waitForPowerOff(step: string, timeoutMs: number): Promise<ExitInfo> {
    this.#expectingExit = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const info = await Promise.race([
        this.exited,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new StepTimeout(`${this.name} did not power off within ${timeoutMs / 1000} s`, {
            step, expected: "QEMU to exit after the guest powered off", consoleTail: this.console.stream.tail(),
          })), timeoutMs);
        }),
      ]);
      if (info.code !== 0) throw this.#exitFailure({ ...info });
      return info;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Saves the whole machine state (RAM, CPU, devices) into `path` as a migration stream, leaving the
   * machine paused: `resume()` continues it. QEMU flushes the disks as part of it, so disk overlays
   * copied while paused match the state.
   */
  async saveState(path: string, timeoutMs = 60_000): Promise<void> {
    await this.qmp.execute("stop");
    await this.qmp.execute("migrate", { uri: `exec:cat > ${shellQuote([path])}` });
    await this.#migration("saving the machine state", timeoutMs);
  }

  /**
   * Waits until an incoming saved state is loaded, re-arms a CPU timer the saved state leaves out (where
   * the target says so), then runs the machine (a restored one stays paused).
   */
  async resumeFromIncoming(timeoutMs = 60_000): Promise<void> {
    await this.#migration("loading the saved machine state", timeoutMs);
    const rearm = this.target.machine.snapshots?.rearmTimer;
    if (rearm) await rearmCpuTimer(this.qmp, this.#gdbSocket, rearm);
    if (!(await this.qmp.status()).running) await this.resume();
  }

  async resume(): Promise<void> {
    await this.qmp.execute("cont");
  }

  async #migration(what: string, timeoutMs: number): Promise<void> {
    const end = performance.now() + timeoutMs;
    for (;;) {
      const r = await this.qmp.execute<{ status?: string; "error-desc"?: string }>("query-migrate");
      if (r.status === "completed") return;
      if (r.status === "failed" || r.status === "cancelled") throw new InfrastructureError(`QEMU: ${what} failed: ${r["error-desc"] ?? r.status}`);
      if (performance.now() > end) throw new InfrastructureError(`QEMU: ${what} did not finish within ${timeoutMs / 1000} s (status ${r.status ?? "none"})`);
      await new Promise((res) => setTimeout(res, 5));
    }
  }

  /** Kills QEMU at once (a power cut) and waits until it has gone. */
  async kill(): Promise<void> {
    this.#expectingExit = true;
    if (this.#child.pid && this.running) {
      try { process.kill(-this.#child.pid, "SIGKILL"); } catch { /* already gone */ }
    }
    await this.exited;
  }

  /** Marks that the machine is about to stop on purpose (no failure when it does). */
  expectExit(): void {
    this.#expectingExit = true;
  }
}

/** QEMU's exit as a failure: its own words, and the fix when the cause is known. */
function qemuDied(name: string, target: Target, info: ExitInfo, when: string): InfrastructureError {
  const how = info.signal ? `was killed by ${info.signal}` : `exited with code ${info.code}`;
  const d = diagnoseQemuExit(info.stderr, target.machine.qemu.binary);
  // A signal QEMU did not send itself: it was killed from outside, and its last words are not the cause.
  const killed = info.signal === "SIGKILL" && !d.fix
    ? "something outside bootlab killed QEMU: the kernel's OOM killer (see `dmesg`), a CI job's time limit, or a person"
    : undefined;
  const fix = d.fix ?? killed;
  return new InfrastructureError(`QEMU for ${name} ${how}${when ? " " + when : ""}: ${d.said || "(it printed nothing)"}`, {
    seen: d.said,
    ...(fix ? { fix } : {}),
  });
}

/** The exit, if the process ends within `ms`. */
function exitWithin(exited: Promise<ExitInfo>, ms: number): Promise<ExitInfo | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    exited,
    new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), ms))),
  ]).finally(() => clearTimeout(timer));
}

async function stopProcess(child: ChildProcess, exited: Promise<ExitInfo>, qmp: QmpClient | undefined): Promise<void> {
  const done = () => child.exitCode !== null || child.signalCode !== null;
  const waitExit = (ms: number) => Promise.race([exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms))]);
  if (!done() && qmp) {
    await qmp.execute("quit", undefined, 2000).catch(() => {});
    await waitExit(3000);
  }
  if (!done() && child.pid) {
    try { process.kill(-child.pid, "SIGTERM"); } catch { /* already gone */ }
    if (!(await waitExit(3000))) {
      try { process.kill(-child.pid, "SIGKILL"); } catch { /* already gone */ }
      await waitExit(3000);
    }
  }
  qmp?.close();
  child.stdin?.destroy();
}
