// The real bytes in test/data that seed the corpus: DHCP datagrams, TFTP and NBD exchanges (one chunk a
// line, "c" from the client, "s" from the server, or bare hex for a single datagram), console transcripts,
// QMP sessions and flash layouts.

import { readdirSync, readFileSync } from "node:fs";

export const DATA = new URL("../test/data/", import.meta.url);

export interface Chunk {
  from: "c" | "s";
  bytes: Uint8Array;
}

const unhex = (h: string) => Uint8Array.from(Buffer.from(h, "hex"));

export function dataFile(name: string): Uint8Array {
  return new Uint8Array(readFileSync(new URL(name, DATA)));
}

export function dataFiles(folder: string, suffix: string): { name: string; bytes: Uint8Array }[] {
  return readdirSync(new URL(folder, DATA)).filter((n) => n.endsWith(suffix)).sort()
    .map((name) => ({ name, bytes: dataFile(`${folder}${name}`) }));
}

/** A .hex capture: exchanges as chunks with their direction; a bare datagram counts as the client's. */
export function hexCapture(name: string): Chunk[] {
  const lines = readFileSync(new URL(name, DATA), "utf8").split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#"));
  return lines.map((l) => {
    const m = /^([cs]) ([0-9a-f]*)$/.exec(l);
    return m ? { from: m[1] as "c" | "s", bytes: unhex(m[2]!) } : { from: "c", bytes: unhex(l) };
  });
}

export function hexCaptures(folder: string): { name: string; chunks: Chunk[] }[] {
  return readdirSync(new URL(folder, DATA)).filter((n) => n.endsWith(".hex")).sort().map((name) => ({ name, chunks: hexCapture(`${folder}${name}`) }));
}
