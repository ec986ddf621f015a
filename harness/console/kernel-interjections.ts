// Kernel messages cut into a program's lines. The kernel writes its console messages to the UART whenever the
// tty's transmit buffer is between two chunks, without regard to where the program's line is: the console shows
// "preinit: running bo[    0.793949] usb 2-1: new SuperSpeed USB device\noot script from usb\n". On a
// console, waits look for the program's line as the program wrote it; this module gives that view of the text
// — every printk line that starts mid-line lifted out — and maps places in it back to the text as received.

/** A printk line's start: a literal first, so the search skips ahead instead of trying every place. */
const PRINTK_START = /\[ *\d+\.\d{6}\] /g;
/** One printk line, or several in a row, from a printk line's start. */
const PRINTK_RUN = /(?:\[ *\d+\.\d{6}\] [^\n]*\n)+/y;

/** Where a printk line starts after a line's first character. */
const MID_LINE_PRINTK = /(?<=.)(?=\[ *\d+\.\d{6}\] )/;

/**
 * One received line in the pieces that start where a printk line cut into it: the line alone when none did.
 * For the checks anchored on a line's start (an Oops, the kernel's banner after a reset): the kernel's line
 * counts wherever the program's line was when it came.
 */
export function linePieces(line: string): string[] {
  return line.includes("] ") ? line.split(MID_LINE_PRINTK) : [line];
}

/** Text with the interjections lifted out, and the way back to the text as received. */
export interface Lifted {
  /** The text without the printk lines that cut into other lines. */
  readonly text: string;
  /**
   * The offset in the received text of `index` in `text`. A match's start lies after an interjection lifted
   * at the same place, its end before it.
   */
  toReceived(index: number, edge: "start" | "end"): number;
}

/** The text with its interjections lifted out; undefined when nothing cuts into a line. */
export function liftInterjections(received: string): Lifted | undefined {
  /** Where each lifted run was in `text`, and how long it was. */
  const cuts: { at: number; length: number }[] = [];
  let text = "";
  let from = 0;
  PRINTK_START.lastIndex = 0;
  for (let m = PRINTK_START.exec(received); m; m = PRINTK_START.exec(received)) {
    // At a line's start it is a line of its own (dmesg's output too), not a cut.
    if (m.index === 0 || received[m.index - 1] === "\n") continue;
    PRINTK_RUN.lastIndex = m.index;
    // A printk line whose end has not come yet is not lifted yet.
    if (!PRINTK_RUN.test(received)) break;
    text += received.slice(from, m.index);
    cuts.push({ at: text.length, length: PRINTK_RUN.lastIndex - m.index });
    from = PRINTK_START.lastIndex = PRINTK_RUN.lastIndex;
  }
  if (!cuts.length) return undefined;
  text += received.slice(from);
  return {
    text,
    toReceived(index, edge) {
      let shift = 0;
      for (const c of cuts) {
        if (c.at > index || (c.at === index && edge === "end")) break;
        shift += c.length;
      }
      return index + shift;
    },
  };
}
