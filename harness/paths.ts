// Where things live: the project checkout, the fixture cache (outside git), the default artifact folder.

import { randomUUID } from "node:crypto";
import { homedir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const projectRoot: string = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** Fixture cache: $BOOTLAB_CACHE, else $XDG_CACHE_HOME/bootlab, else ~/.cache/bootlab. */
export function cacheRoot(): string {
  const env = process.env;
  if (env.BOOTLAB_CACHE) return resolve(env.BOOTLAB_CACHE);
  if (env.XDG_CACHE_HOME) return join(env.XDG_CACHE_HOME, "bootlab");
  return join(homedir(), ".cache", "bootlab");
}

/**
 * A suffix for a temporary file or folder next to its final place: unique per call, not only per process.
 * Two pairs of one run (or two test files in Deno's worker threads, which share a pid) may make the same
 * cache entry at once; each writes its own temporary and the last rename wins.
 */
export function tempSuffix(): string {
  return `${process.pid}-${randomUUID().slice(0, 8)}`;
}
