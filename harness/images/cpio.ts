// A cpio "newc" archive writer — the format the Linux kernel unpacks as an initramfs. Pure: entries in,
// bytes out. No root needed for device nodes or ownership, and the same entries always give the same
// bytes (inode numbers are assigned in order, times are fixed).

export type CpioEntry =
  | { type: "dir"; path: string; mode?: number }
  | { type: "file"; path: string; data: Uint8Array; mode?: number }
  | { type: "symlink"; path: string; target: string }
  | { type: "char" | "block"; path: string; major: number; minor: number; mode?: number };

const S_IFDIR = 0o040000, S_IFREG = 0o100000, S_IFLNK = 0o120000, S_IFCHR = 0o020000, S_IFBLK = 0o060000;

function hex8(n: number): string {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new RangeError(`cpio field out of range: ${n}`);
  return n.toString(16).padStart(8, "0");
}

function normalise(path: string): string {
  const p = path.replace(/^\/+/, "").replace(/\/+$/, "");
  if (p === "" || p.split("/").some((s) => s === "" || s === "." || s === "..")) {
    throw new RangeError(`cpio: bad path "${path}"`);
  }
  return p;
}

/**
 * Writes entries in the order given, after adding any missing parent folders before their first child
 * (the kernel's unpacker does not create parents). `mtime` is the same for every entry.
 */
export function writeCpio(entries: CpioEntry[], opts: { mtime?: number } = {}): Uint8Array {
  const mtime = opts.mtime ?? 0;
  const enc = new TextEncoder();
  const chunks: Uint8Array[] = [];
  let size = 0;
  let ino = 1;
  const seen = new Set<string>();
  const push = (b: Uint8Array) => {
    chunks.push(b);
    size += b.length;
  };
  const pad = () => {
    const n = (4 - (size % 4)) % 4;
    if (n) push(new Uint8Array(n));
  };
  const record = (name: string, mode: number, data: Uint8Array, rdev: [number, number] = [0, 0], nlink = 1) => {
    const nameBytes = enc.encode(name + "\0");
    const header = "070701" + [
      hex8(name === "TRAILER!!!" ? 0 : ino++), hex8(mode), hex8(0), hex8(0), hex8(nlink), hex8(mtime),
      hex8(data.length), hex8(0), hex8(0), hex8(rdev[0]), hex8(rdev[1]), hex8(nameBytes.length), hex8(0),
    ].join("");
    push(enc.encode(header));
    push(nameBytes);
    pad();
    if (data.length) {
      push(data);
      pad();
    }
  };
  const ensureParents = (p: string) => {
    const parts = p.split("/");
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join("/");
      if (!seen.has(dir)) {
        seen.add(dir);
        record(dir, S_IFDIR | 0o755, new Uint8Array(0), [0, 0], 2);
      }
    }
  };
  for (const e of entries) {
    const p = normalise(e.path);
    if (seen.has(p)) {
      if (e.type === "dir") continue;
      throw new RangeError(`cpio: duplicate path "${e.path}"`);
    }
    ensureParents(p);
    seen.add(p);
    switch (e.type) {
      case "dir":
        record(p, S_IFDIR | (e.mode ?? 0o755), new Uint8Array(0), [0, 0], 2);
        break;
      case "file":
        record(p, S_IFREG | (e.mode ?? 0o644), e.data);
        break;
      case "symlink":
        record(p, S_IFLNK | 0o777, enc.encode(e.target));
        break;
      case "char":
      case "block":
        record(p, (e.type === "char" ? S_IFCHR : S_IFBLK) | (e.mode ?? 0o600), new Uint8Array(0), [e.major, e.minor]);
        break;
    }
  }
  record("TRAILER!!!", 0, new Uint8Array(0), [0, 0], 1);
  pad();
  const out = new Uint8Array(size);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}
