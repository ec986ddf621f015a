// Areas with bugs planted on purpose, for the smoke test: the runner must report a crash, an error that escaped
// an input through a promise nobody awaited, a synchronous endless loop (and carry on after it), and a heap that
// keeps growing. A runner that misses one of these would pass any real area too.

import type { Area, AreaFactory } from "./area.ts";

const seedInputs = () => [Uint8Array.of(0x40, 1, 2, 3), Uint8Array.of(0x41)];

function planted(name: string, run: (input: Uint8Array) => string | Promise<string>): AreaFactory {
  return (): Area => ({ name, corpus: seedInputs, mutators: [], expects: ["ok"], run });
}

const kept: Uint8Array[] = [];

export const AREAS: Record<string, AreaFactory> = {
  // A TypeError when the first byte is 0x42.
  "planted-crash": planted("planted-crash", (input) => {
    if (input[0] === 0x42) (null as unknown as { x: number }).x = 1;
    return "ok:fine";
  }),
  // A rejected promise nobody awaits, when the first byte is 0x42.
  "planted-escape": planted("planted-escape", async (input) => {
    if (input[0] === 0x42) void Promise.reject(new RangeError("planted: nobody awaited this"));
    await new Promise((r) => setTimeout(r, 0));
    return "ok:fine";
  }),
  // An endless loop when the first byte is 0x13.
  "planted-hang": planted("planted-hang", (input) => {
    // deno-lint-ignore no-empty
    if (input[0] === 0x13) for (;;) {}
    return "ok:fine";
  }),
  // Keeps 4 KiB of every input.
  "planted-leak": planted("planted-leak", () => {
    kept.push(new Uint8Array(4096).fill(1));
    return "ok:fine";
  }),
};
