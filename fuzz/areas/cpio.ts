// The initramfs writer (harness/images/cpio.ts): entries made from input bytes — paths with empty, "." and
// ".." components, leading and trailing slashes, non-ASCII, repeats; files, folders, symlinks, device nodes;
// modes and device numbers out of range. bootlab has no cpio reader, so the written archive is read back by
// the kernel's rules (fuzz/cpio-reader.ts) and must hold every entry, parents first, with unique inodes.
// writeCpio may refuse an entry with a RangeError naming cpio; any other exception is a crash.

import type { Area, Mutator } from "../area.ts";
import { readCpio } from "../cpio-reader.ts";
import { BYTE_MUTATORS, concat } from "../mutators/bytes.ts";
import { recordMutators } from "../mutators/records.ts";
import { textMutators } from "../mutators/text.ts";
import { decodeRecords, encodeRecords } from "../records.ts";
import { type CpioEntry, writeCpio } from "../../harness/images/cpio.ts";

const TYPES = ["dir", "file", "symlink", "char", "block"] as const;
const S_IFMT = 0o170000;
const IFMT: Record<CpioEntry["type"], number> = { dir: 0o040000, file: 0o100000, symlink: 0o120000, char: 0o020000, block: 0o060000 };
const enc = new TextEncoder();

/** One record: type, mode byte, major, minor, then the path, a NUL, and the file's data or the link's target. */
function entry(r: Uint8Array): CpioEntry {
  const type = TYPES[(r[0] ?? 0) % TYPES.length]!;
  const mode = r[1] === 255 ? 2 ** 32 : r[1] === 254 ? -1 : ((r[1] ?? 0) * 7) & 0o7777;
  const num = (x: number | undefined) => (x === 255 ? 2 ** 32 : x === 254 ? 1.5 : (x ?? 0));
  const rest = r.subarray(4);
  const nul = rest.indexOf(0);
  const path = new TextDecoder().decode(nul < 0 ? rest : rest.subarray(0, nul));
  const body = nul < 0 ? new Uint8Array(0) : rest.subarray(nul + 1);
  switch (type) {
    case "dir":
      return { type, path, mode };
    case "file":
      return { type, path, data: body, mode };
    case "symlink":
      return { type, path, target: new TextDecoder().decode(body) };
    default:
      return { type, path, major: num(r[2]), minor: num(r[3]), mode };
  }
}

const normalise = (p: string) => p.replace(/^\/+/, "").replace(/\/+$/, "");

/**
 * Checks the archive against the entries. Two things writeCpio lets through are returned, not thrown: a path
 * under one that is a file, not a folder (the kernel cannot create it), and an entry (or its folder) named
 * "TRAILER!!!" (the kernel stops there) — scenario mistakes the writer could refuse, reported as findings of this area.
 */
function check(entries: CpioEntry[], archive: Uint8Array): string | undefined {
  if (entries.some((e) => /^TRAILER!!!(\/|$)/.test(normalise(e.path)))) return "an entry named TRAILER!!! ends the archive early";
  const records = readCpio(archive);
  if (typeof records === "string") throw new Error(`cpio: the archive does not read back: ${records}`);
  if (archive.length % 4) throw new Error(`cpio: ${archive.length} bytes, not a multiple of 4`);
  const seen = new Map<string, number>();
  const inodes = new Set<number>();
  let note: string | undefined;
  records.forEach((r, i) => {
    if (r.name === "TRAILER!!!") return;
    if (seen.has(r.name)) throw new Error(`cpio: "${r.name}" twice in the archive`);
    const parent = r.name.includes("/") ? r.name.slice(0, r.name.lastIndexOf("/")) : undefined;
    if (parent !== undefined) {
      if (!seen.has(parent)) throw new Error(`cpio: "${r.name}" comes before its folder "${parent}"`);
      if ((records[seen.get(parent)!]!.mode & S_IFMT) !== IFMT.dir) note = "a path under a file, not a folder";
    }
    if (inodes.has(r.ino)) throw new Error(`cpio: inode ${r.ino} used twice`);
    inodes.add(r.ino);
    seen.set(r.name, i);
  });
  for (const e of entries) {
    const at = seen.get(normalise(e.path));
    if (at === undefined) throw new Error(`cpio: entry "${e.path}" is missing from the archive`);
    const r = records[at]!;
    if ((r.mode & S_IFMT) !== IFMT[e.type] && !(e.type === "dir")) throw new Error(`cpio: "${e.path}" is not a ${e.type} in the archive`);
    const want = e.type === "file" ? e.data : e.type === "symlink" ? enc.encode(e.target) : undefined;
    if (want && (want.length !== r.data.length || want.some((x, k) => x !== r.data[k]))) throw new Error(`cpio: "${e.path}" holds other bytes in the archive`);
    if ((e.type === "char" || e.type === "block") && (r.rdevMajor !== e.major || r.rdevMinor !== e.minor)) throw new Error(`cpio: "${e.path}" has another device number`);
  }
  return note;
}

const PATH_WORDS = ["/", "//", ".", "..", "init", "bin/busybox", "dev/console", "lib/modules/6.1.0", "é", "a b", "-", "\u0000", "TRAILER!!!", "x".repeat(300)];

const entryMutators: Mutator[] = [
  {
    name: "cpio: entry kind and numbers",
    mutate(input, { rng }) {
      const b = input.length >= 4 ? input.slice() : concat([input, new Uint8Array(4 - input.length)]);
      b[rng.int(4)] = rng.pick([0, 1, 2, 3, 4, 7, 0o17, 254, 255, rng.int(256)]);
      return b;
    },
  },
];

export function cpioArea(): Area {
  const rec = (type: number, path: string, body: string | Uint8Array = "", mode = 0o644 / 7, major = 0, minor = 0) =>
    concat([Uint8Array.of(type, mode, major, minor), enc.encode(path), Uint8Array.of(0), typeof body === "string" ? enc.encode(body) : body]);
  const seeds = [
    encodeRecords([rec(0, "dev"), rec(3, "dev/console", "", 0o600 / 7, 5, 1), rec(1, "init", "#!/bin/sh\nexec /bin/sh\n", 0o755 / 7), rec(2, "bin/sh", "busybox"), rec(1, "bin/busybox", new Uint8Array(300).fill(0x7f))]),
    encodeRecords([rec(1, "lib/modules/6.1.0/kernel/drivers/net/virtio_net.ko", "\x7fELF"), rec(0, "/lib/"), rec(4, "dev/sda", "", 0o660 / 7, 8, 0)]),
    encodeRecords([rec(1, "a", "x"), rec(1, "a", "y")]),
    encodeRecords([rec(1, "../escape", "x")]),
    encodeRecords([rec(0, "etc"), rec(0, "etc"), rec(1, "etc/passwd", "root:x:0:0::/root:/bin/sh\n")]),
  ];
  return {
    name: "cpio",
    corpus: () => seeds,
    mutators: recordMutators({ inner: [...entryMutators, ...textMutators(PATH_WORDS), ...BYTE_MUTATORS], maxRecords: 32 }),
    dictionary: PATH_WORDS.map((w) => enc.encode(w)),
    maxBytes: 8192,
    expects: ["ok", "refused:cpio: bad path", "refused:cpio: duplicate path", "refused:cpio field out of range"],
    run(input) {
      const entries = decodeRecords(input).map(entry);
      let archive: Uint8Array;
      try {
        archive = writeCpio(entries, { mtime: 1700000000 });
      } catch (e) {
        if (e instanceof RangeError && /^cpio/.test(e.message)) return `refused:${e.message.split(/"|:\s*\d/)[0]!.trim()}`;
        throw e;
      }
      const note = check(entries, archive);
      return note ? `written:${note}` : `ok:${entries.length ? "entries" : "empty"}`;
    },
  };
}
