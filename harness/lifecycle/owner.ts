// Everything long-running (QEMU processes, sockets, timers, temp dirs) is adopted by an Owner, which
// stops it in reverse order of adoption — on success, on failure, and on Ctrl-C (see signals.ts).
// Stopping never throws: a failure to stop is reported, and the rest are still stopped.

export type StopFn = () => void | Promise<void>;

interface Held {
  what: string;
  stop: StopFn;
}

const live = new Set<Owner>();

export class Owner {
  readonly name: string;
  #held: Held[] = [];
  #closed = false;
  #closing: Promise<string[]> | undefined;

  constructor(name: string) {
    this.name = name;
    live.add(this);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Registers a stop function; returns a function that stops and forgets it early. */
  adopt(what: string, stop: StopFn): () => Promise<void> {
    if (this.#closed) {
      // Adopting after close would leak: stop it right away.
      void Promise.resolve().then(stop).catch(() => {});
      throw new Error(`owner ${this.name} is closed; cannot adopt ${what}`);
    }
    const held: Held = { what, stop };
    this.#held.push(held);
    return async () => {
      const i = this.#held.indexOf(held);
      if (i >= 0) {
        this.#held.splice(i, 1);
        await held.stop();
      }
    };
  }

  /** Stops everything held, newest first. Returns descriptions of stops that failed. */
  close(): Promise<string[]> {
    if (!this.#closing) {
      this.#closed = true;
      this.#closing = (async () => {
        const problems: string[] = [];
        while (this.#held.length > 0) {
          const h = this.#held.pop()!;
          try {
            await h.stop();
          } catch (e) {
            problems.push(`${h.what}: ${e instanceof Error ? e.message : String(e)}`);
          }
        }
        live.delete(this);
        return problems;
      })();
    }
    return this.#closing;
  }
}

/** Closes every owner still open (used by signal handlers and at process exit). */
export async function closeAllOwners(): Promise<void> {
  await Promise.all([...live].map((o) => o.close()));
}

export function liveOwnerCount(): number {
  return live.size;
}
