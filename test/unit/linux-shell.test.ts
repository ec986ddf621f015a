// The shell driver's side of typing without echo: what it types, what the transcript shows instead of the
// echo, and how the shell is given back to a person. (That a real busybox sh then answers without echo is
// checked on real guests in test/integration/boot.test.ts.)
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Socket } from "node:net";
import { Steps } from "../../harness/scenario/steps.ts";
import { SerialConsole } from "../../harness/console/serial-console.ts";
import { LinuxShell } from "../../harness/console/linux-shell.ts";
import { tempDir } from "../helpers.ts";

const tick = () => new Promise((r) => setTimeout(r, 1));

/** A console whose socket records what the driver types. */
function fakeConsole(log: string): { con: SerialConsole; typed: string[]; say: (text: string) => void } {
  const typed: string[] = [];
  const con = new SerialConsole("con0", log, []);
  con.attach({ on: () => {}, write: (t: string) => void typed.push(t), destroyed: false, destroy: () => {} } as unknown as Socket);
  return { con, typed, say: (text) => con.feed(new TextEncoder().encode(text)) };
}

test("linux shell: sync turns the tty's echo off; commands are noted in the transcript after their prompt; the shell goes back to a person with echo on", async () => {
  const dir = tempDir("bootlab-shell-");
  const log = join(dir.path, "con0.log");
  const { con, typed, say } = fakeConsole(log);
  try {
    const sh = new LinuxShell(con, new Steps(), 2000);
    const id = process.pid % 1000;
    const synced = sh.sync();
    await tick();
    assert.deepEqual(typed, ["\n", `stty -echo 2>/dev/null; printf '\\036BL-${id}s1-SYNC\\036\\n'\n`]);
    assert.equal(sh.handOver(), undefined, "nothing to give back before the echo is off");
    say(`~ # stty -echo 2>/dev/null; printf '\\036BL-${id}s1-SYNC\\036\\n'\n\x1eBL-${id}s1-SYNC\x1e\n~ # `);
    await synced;

    typed.length = 0;
    const ran = sh.run("ls /mnt\nuname -m");
    await tick();
    assert.equal(typed.length, 1);
    assert.match(typed[0]!, new RegExp(`^printf '\\\\036BL-${id}c2-B\\\\036\\\\n'; \\{\\nls /mnt\\nuname -m\\n\\}; printf`));
    // A command of ours may still be running: typing `stty echo` now would feed it, so the person is told.
    assert.match(sh.handOver()!, /type `stty echo`/);
    assert.equal(typed.length, 1, "nothing typed while a command runs");
    say(`> > \x1eBL-${id}c2-B\x1e\nmips\n\x1eBL-${id}c2-E:0\x1e`);
    assert.deepEqual(await ran, { status: 0, output: "mips" });
    // The next command is typed before the end marker's line is over: the note ends that line early.
    const next = sh.run("true");
    await tick();
    say(`\n~ # > > \x1eBL-${id}c3-B\x1e\n\x1eBL-${id}c3-E:0\x1e\n~ # `);
    assert.equal((await next).status, 0);

    typed.length = 0;
    assert.equal(sh.handOver(), undefined, "the last command has ended");
    assert.deepEqual(typed, ["stty echo 2>/dev/null\n"]);
    assert.equal(sh.handOver(), undefined);
    assert.equal(typed.length, 1, "echo is turned on once");

    await con.close();
    const lines = readFileSync(log, "utf8").split("\n").map((l) => l.replace(/^\[ *\d+\.\d{3}\] /, ""));
    // The prompt the command was typed at, the command (each of its lines marked as bootlab's), then the output;
    // the line the note cut short does not end in a second, empty line.
    const at = lines.indexOf("## bootlab: $ ls /mnt");
    assert.ok(at > 0, lines.join("\n"));
    assert.deepEqual(lines.slice(at - 1, at + 9), [
      "~ # ", "## bootlab: $ ls /mnt", "## bootlab: uname -m", `> > \x1eBL-${id}c2-B\x1e`, "mips", `\x1eBL-${id}c2-E:0\x1e`,
      "## bootlab: $ true", `~ # > > \x1eBL-${id}c3-B\x1e`, `\x1eBL-${id}c3-E:0\x1e`, "~ # ",
    ]);
  } finally {
    dir.remove();
  }
});

test("linux shell: a kernel message that lands anywhere in the framing, inside a marker or the exit status, is neither a hang nor output", async () => {
  const dir = tempDir("bootlab-shell-");
  const { con, say } = fakeConsole(join(dir.path, "con0.log"));
  const printk = "[    2.065988] nbd0: detected capacity change from 0 to 32768\n";
  try {
    const sh = new LinuxShell(con, new Steps(), 2000);
    const id = process.pid % 1000;
    const sync = `\x1eBL-${id}s1-SYNC\x1e`;
    const synced = sh.sync();
    await tick();
    say(`~ # ${sync.slice(0, 5)}${printk}${sync.slice(5)}\n~ # `);
    await synced;
    // Every place the UART could be between two chunks of the shell's output: before each character of the
    // begin marker, of the output, of the end marker and of the status (CI once had one between "B\x1e" and "\n").
    for (let seq = 2, at = 0; ; seq++, at++) {
      const framed = `\x1eBL-${id}c${seq}-B\x1e\nmips\n\x1eBL-${id}c${seq}-E:17\x1e`;
      if (at > framed.length) break;
      const ran = sh.run("uname -m; false 17");
      await tick();
      say(`> > ${framed.slice(0, at)}${printk}${framed.slice(at)}\n~ # `);
      assert.deepEqual(await ran, { status: 17, output: "mips" }, `printk at ${at}: ${JSON.stringify(framed.slice(0, at))}`);
    }
  } finally {
    await con.close();
    dir.remove();
  }
});
