// Token-level mutations for text formats (flash layouts, HTTP heads, console output): the input is cut into
// words, numbers, runs of spaces or tabs, line ends and punctuation — on the bytes, so invalid UTF-8 survives —
// and whole tokens or lines are replaced, repeated, dropped or swapped. A number becomes another number that
// parsers get wrong (octal-looking, past 2^53, negative, hex without digits); a word becomes a word of the format.

import type { Mutator } from "../area.ts";
import type { Rng } from "../prng.ts";
import { concat } from "./bytes.ts";

const enc = new TextEncoder();

export const INTERESTING_NUMBERS = [
  "0", "1", "-1", "00", "007", "08", "0x", "0x0", "0X10", "0xffffffff", "0x100000000", "255", "256", "65535", "65536",
  "2147483647", "2147483648", "4294967295", "4294967296", "9007199254740991", "9007199254740993", "1e3", "1e309", "NaN",
  "Infinity", "-0", "0.5", "1.", "+1", "99999999999999999999", "0b101", "1_000", "١٢",
];

const SEPARATORS = ["\t", "\t\t", " ", "\n", "\r\n", "\r", "\n\n", "#", "\u00a0", "\uFEFF", "\0", ";", ",", "="].map((s) => enc.encode(s));
const INVALID_UTF8 = [Uint8Array.of(0xff), Uint8Array.of(0xc3), Uint8Array.of(0xe2, 0x80), Uint8Array.of(0xed, 0xa0, 0x80), Uint8Array.of(0xc0, 0xaf), enc.encode("–")];

type Kind = "word" | "number" | "space" | "tab" | "newline" | "high" | "other";

interface Token {
  start: number;
  end: number;
  kind: Kind;
}

function kindOf(c: number): Kind {
  if ((c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f || c === 0x2d) return "word";
  if (c >= 0x30 && c <= 0x39) return "number";
  if (c === 0x20) return "space";
  if (c === 0x09) return "tab";
  if (c === 0x0a) return "newline";
  if (c >= 0x80) return "high";
  return "other";
}

export function tokenize(b: Uint8Array): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < b.length) {
    const k = kindOf(b[i]!);
    let j = i + 1;
    if (k === "number" && b[i] === 0x30 && (b[j] === 0x78 || b[j] === 0x58)) {
      j++;
      while (j < b.length && /[0-9a-fA-F]/.test(String.fromCharCode(b[j]!))) j++;
    } else if (k !== "other" && k !== "newline") {
      while (j < b.length && (kindOf(b[j]!) === k || (k === "word" && kindOf(b[j]!) === "number"))) j++;
    }
    out.push({ start: i, end: j, kind: k });
    i = j;
  }
  return out;
}

function lines(b: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  let start = 0;
  for (let i = 0; i < b.length; i++) if (b[i] === 0x0a) out.push(b.subarray(start, i + 1)), (start = i + 1);
  if (start < b.length) out.push(b.subarray(start));
  return out;
}

function replaceToken(b: Uint8Array, t: Token, w: Uint8Array): Uint8Array {
  return concat([b.subarray(0, t.start), w, b.subarray(t.end)]);
}

function pickToken(rng: Rng, ts: Token[], kinds?: Kind[]): Token | undefined {
  const c = kinds ? ts.filter((t) => kinds.includes(t.kind)) : ts;
  return c.length ? rng.pick(c) : undefined;
}

export function textMutators(words: readonly string[]): Mutator[] {
  const dict = words.map((w) => enc.encode(w));
  const numbers = INTERESTING_NUMBERS.map((n) => enc.encode(n));
  return [
    {
      name: "text: word from the format",
      mutate(input, { rng }) {
        const ts = tokenize(input);
        const t = pickToken(rng, ts, rng.chance(0.7) ? ["word", "number"] : undefined);
        const w = dict.length ? rng.pick(dict) : rng.pick(numbers);
        if (!t || rng.chance(0.25)) {
          const at = ts.length ? rng.pick(ts).start : 0;
          return concat([input.subarray(0, at), w, input.subarray(at)]);
        }
        return replaceToken(input, t, w);
      },
    },
    {
      name: "text: number",
      mutate(input, { rng }) {
        const t = pickToken(rng, tokenize(input), ["number"]);
        if (!t) return concat([input, rng.pick(numbers)]);
        if (rng.chance(0.3)) {
          // Near the number that was there: off-by-one in both directions.
          const text = new TextDecoder().decode(input.subarray(t.start, t.end));
          const v = Number(text);
          if (Number.isFinite(v)) {
            const near = v + rng.pick([-1, 1, 2, -2, 8, 512]);
            return replaceToken(input, t, enc.encode(text.startsWith("0x") ? `0x${Math.max(0, near).toString(16)}` : String(near)));
          }
        }
        return replaceToken(input, t, rng.pick(numbers));
      },
    },
    {
      name: "text: separator",
      mutate(input, { rng }) {
        const ts = tokenize(input);
        const t = pickToken(rng, ts, ["space", "tab", "newline", "other"]);
        const s = rng.chance(0.85) ? rng.pick(SEPARATORS) : rng.pick(INVALID_UTF8);
        if (t && rng.chance(0.5)) return replaceToken(input, t, s);
        const at = ts.length ? rng.pick(ts).start : 0;
        return concat([input.subarray(0, at), s, input.subarray(at)]);
      },
    },
    {
      name: "text: drop or repeat a token",
      mutate(input, { rng }) {
        const ts = tokenize(input);
        const t = pickToken(rng, ts);
        if (!t) return input;
        const piece = input.subarray(t.start, t.end);
        return replaceToken(input, t, rng.chance(0.5) ? new Uint8Array(0) : concat(Array.from({ length: 2 + rng.small(6) }, () => piece)));
      },
    },
    {
      name: "text: swap tokens",
      mutate(input, { rng }) {
        const ts = tokenize(input);
        if (ts.length < 2) return input;
        let a = rng.pick(ts), b = rng.pick(ts);
        if (a.start > b.start) [a, b] = [b, a];
        if (a === b) return input;
        return concat([
          input.subarray(0, a.start), input.subarray(b.start, b.end), input.subarray(a.end, b.start), input.subarray(a.start, a.end), input.subarray(b.end),
        ]);
      },
    },
    {
      name: "text: line",
      mutate(input, { rng }) {
        const ls = lines(input);
        if (ls.length === 0) return input;
        const i = rng.int(ls.length);
        switch (rng.int(4)) {
          case 0:
            ls.splice(i, 1);
            break;
          case 1:
            ls.splice(i, 0, ...Array.from({ length: 1 + rng.small(7) }, () => ls[i]!));
            break;
          case 2: {
            const j = rng.int(ls.length);
            [ls[i], ls[j]] = [ls[j]!, ls[i]!];
            break;
          }
          default:
            // Lines of another form: without their line feed, or with CRLF.
            ls[i] = rng.chance(0.5) ? ls[i]!.subarray(0, Math.max(0, ls[i]!.length - 1)) : concat([ls[i]!.subarray(0, ls[i]!.length - 1), enc.encode("\r\n")]);
        }
        return concat(ls);
      },
    },
    {
      name: "text: letter case",
      mutate(input, { rng }) {
        const t = pickToken(rng, tokenize(input), ["word"]);
        if (!t) return input;
        const b = input.slice();
        for (let i = t.start; i < t.end; i++) if (kindOf(b[i]!) === "word" && b[i] !== 0x2d && b[i] !== 0x5f) b[i] = b[i]! ^ 0x20;
        return b;
      },
    },
  ];
}
