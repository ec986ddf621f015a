// Shared memory between an area's worker and the runner's watchdog. A worker stuck in a synchronous loop can
// post nothing, so it writes, before each input, the input's bytes and, after it, the count of inputs done:
// the watchdog sees the count stand still and still knows exactly which input hung.

export const MAX_SHARED_INPUT = 1 << 20;

const COUNT = 0;
const RUNNING = 1;
const LENGTH = 2;
const PHASE = 3;
const HEADER_BYTES = 16;

export type WorkerPhase = "loading" | "fuzzing" | "finished";
const PHASES: WorkerPhase[] = ["loading", "fuzzing", "finished"];

export class Heartbeat {
  readonly buffer: SharedArrayBuffer;
  readonly #words: Int32Array;
  readonly #bytes: Uint8Array;

  constructor(buffer = new SharedArrayBuffer(HEADER_BYTES + MAX_SHARED_INPUT)) {
    this.buffer = buffer;
    this.#words = new Int32Array(buffer, 0, HEADER_BYTES / 4);
    this.#bytes = new Uint8Array(buffer, HEADER_BYTES);
  }

  // ——— the worker's side ———

  begin(input: Uint8Array): void {
    const n = Math.min(input.length, MAX_SHARED_INPUT);
    this.#bytes.set(n === input.length ? input : input.subarray(0, n));
    Atomics.store(this.#words, LENGTH, n);
    Atomics.store(this.#words, RUNNING, 1);
  }

  end(): void {
    Atomics.store(this.#words, RUNNING, 0);
    Atomics.add(this.#words, COUNT, 1);
  }

  setPhase(p: WorkerPhase): void {
    Atomics.store(this.#words, PHASE, PHASES.indexOf(p));
  }

  // ——— the watchdog's side ———

  get count(): number {
    return Atomics.load(this.#words, COUNT);
  }

  get running(): boolean {
    return Atomics.load(this.#words, RUNNING) === 1;
  }

  get phase(): WorkerPhase {
    return PHASES[Atomics.load(this.#words, PHASE)] ?? "loading";
  }

  /** The input the worker is on (or was last on). */
  current(): Uint8Array {
    return this.#bytes.slice(0, Atomics.load(this.#words, LENGTH));
  }
}
