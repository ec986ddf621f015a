import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { ExpectStream, wholeLine } from "../../harness/console/expect.ts";
import { liftInterjections } from "../../harness/console/kernel-interjections.ts";
import { linuxBadPatterns } from "../../harness/console/bad-patterns.ts";
import { ProductFailure, StepTimeout } from "../../harness/errors/failures.ts";

// Real console bytes: a Debian 6.1 malta kernel booted with no initramfs (QEMU's raw serial log).
const RAW = readFileSync(new URL("../data/malta-no-initramfs-panic.console", import.meta.url), "utf8").replace(/\r/g, "");
const PANIC_BOOT = RAW.split(/(?<=\n)/);

test("expect: matches a pattern split across chunks and consumes up to the match", async () => {
  const s = new ExpectStream("con0");
  const p = s.expect(/login: $/, { step: "login prompt", timeoutMs: 1000 });
  s.push("Welcome\nbootlab lo");
  s.push("gin: ");
  const m = await p;
  assert.equal(m.text, "login: ");
  assert.equal(m.before, "Welcome\nbootlab ");
  s.push("again\n");
  const m2 = await s.expect("again", { step: "second", timeoutMs: 1000 });
  assert.equal(m2.before, "");
});

test("expect: with several patterns the earliest match wins and says which", async () => {
  const s = new ExpectStream("con0");
  s.push("xx ERROR yy OK\n");
  const m = await s.expect(["OK", "ERROR"], { step: "result", timeoutMs: 1000 });
  assert.equal(m.index, 1);
});

test("expect: a deadline fails the step with its name, what it waited for, and the last lines", async () => {
  const s = new ExpectStream("con0");
  s.push("line one\nline two\n");
  await assert.rejects(s.expect("never", { step: "wait for never", timeoutMs: 50 }), (e: unknown) => {
    assert.ok(e instanceof StepTimeout);
    assert.equal(e.context.step, "wait for never");
    assert.match(e.context.expected!, /never/);
    assert.deepEqual(e.context.consoleTail, ["line one", "line two"]);
    return true;
  });
});

test("expect: a kernel panic fails the pending wait at once, quoting the panic line", async () => {
  const s = new ExpectStream("con0", linuxBadPatterns());
  const p = s.expect("bootlab-init: ready", { step: "kernel boots to the shell", timeoutMs: 60_000 });
  const t0 = Date.now();
  for (const l of PANIC_BOOT) s.push(l);
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof ProductFailure);
    assert.match(e.message, /kernel-panic/);
    assert.match(e.context.seen!, /Kernel panic - not syncing: VFS: Unable to mount root fs/);
    assert.equal(e.context.step, "kernel boots to the shell");
    return true;
  });
  assert.ok(Date.now() - t0 < 1000);
});

test("expect: a failure is sticky — later waits fail with the same cause", async () => {
  const s = new ExpectStream("con0", linuxBadPatterns());
  for (const l of PANIC_BOOT) s.push(l);
  await assert.rejects(s.expect("anything", { step: "later", timeoutMs: 1000 }), /kernel-panic/);
});

test("expect: a step that waits for the panic itself gets it", async () => {
  const s = new ExpectStream("con0", linuxBadPatterns());
  const p = s.expect(/Kernel panic - not syncing: (.*)/, { step: "the kernel panics", timeoutMs: 1000 });
  for (const l of PANIC_BOOT) s.push(l);
  assert.match((await p).groups[0]!, /VFS: Unable to mount root fs/);
});

test("expect: bad patterns can be allowed by name for a scope", async () => {
  const s = new ExpectStream("con0", linuxBadPatterns());
  await s.allowing(["kernel-panic"], async () => {
    const p = s.expect(/\.bss +@/, { step: "panic on purpose", timeoutMs: 1000 });
    for (const l of PANIC_BOOT) s.push(l);
    await p;
  });
  assert.equal(s.failure, undefined);
});

test("expect: the boot banner once is fine, a second one is an unexpected reset", async () => {
  const s = new ExpectStream("con0", linuxBadPatterns());
  s.push(PANIC_BOOT[0]!);
  s.push("# \n");
  await s.expect("# ", { step: "prompt", timeoutMs: 1000 });
  const p = s.expect("never", { step: "idle", timeoutMs: 5000 });
  s.push(PANIC_BOOT[0]!);
  await assert.rejects(p, /kernel-reset/);
});

test("expect: an Oops in the middle of output fails the wait even though the prompt follows", async () => {
  const s = new ExpectStream("con0", linuxBadPatterns());
  const p = s.expect("# ", { step: "command", timeoutMs: 1000 });
  s.push("[   12.000001] Internal error: Oops: 17 [#1] ARM\n# ");
  await assert.rejects(p, /oops/);
});

test("expect: a shell printing BUG: mid-line is not a kernel bug", async () => {
  const s = new ExpectStream("con0", linuxBadPatterns());
  s.push("grep says: BUG: nothing\n# ");
  await s.expect("# ", { step: "prompt", timeoutMs: 1000 });
});

test("expect: a whole-line pattern waits for the end of the line a chunk cut in two, and quotes all of it", async () => {
  const s = new ExpectStream("con0");
  const p = s.expect(["preinit: USB: mounted", wholeLine(/preinit: USB mount failed: [^\n]*/)], { step: "stick", timeoutMs: 1000 });
  s.push("[    4.1] usb 1-1: new\npreinit: USB mount failed: no such de");
  await new Promise((r) => setTimeout(r, 20));
  s.push("vice (/dev/sda after 1 s)\r\nnext line\n");
  const m = await p;
  assert.equal(m.index, 1);
  assert.equal(m.text.trim(), "preinit: USB mount failed: no such device (/dev/sda after 1 s)");
});

// Real printk lines from a malta usbboot console, cutting into preinit's line as the UART can (the kernel writes
// between two of the tty's transmit chunks).
const USB_PRINTK = "[    0.793949] usb 2-1: new SuperSpeed USB device number 2 using xhci_hcd\n" +
  "[    0.824653] usb-storage 2-1:1.0: USB Mass Storage device detected\n";

test("expect: a line that kernel messages cut in two still matches as the program wrote it; the messages stay in the received text", async () => {
  const s = new ExpectStream("con0");
  s.push("boot script: started\npreinit: running bo");
  s.push(USB_PRINTK);
  s.push("ot script from usb\nnext\n");
  const m = await s.expect(/preinit: running boot script from (\w+)\n/, { step: "the branch", timeoutMs: 1000 });
  assert.equal(m.text, "preinit: running boot script from usb\n");
  assert.deepEqual(m.groups, ["usb"]);
  assert.equal(m.before, "boot script: started\n");
  assert.equal((await s.expect("next", { step: "after it", timeoutMs: 1000 })).before, "", "consumed up to the line's end as received");

  // The kernel's own lines match as received.
  const k = new ExpectStream("con0");
  k.push(`preinit: running bo${USB_PRINTK}ot script from usb\n`);
  const usb = await k.expect(/usb-storage [^\n]*detected/, { step: "the stick", timeoutMs: 1000 });
  assert.equal(usb.before, "preinit: running bo[    0.793949] usb 2-1: new SuperSpeed USB device number 2 using xhci_hcd\n[    0.824653] ");
});

test("expect: the earlier of the received and the lifted match wins; printk lines at a line's start are not lifted", async () => {
  const s = new ExpectStream("con0");
  s.push(`ab${USB_PRINTK}cd\nabcd\n`);
  const m = await s.expect("abcd", { step: "first abcd", timeoutMs: 1000 });
  assert.equal(m.before, "", "the cut line comes first");
  assert.equal((await s.expect("abcd", { step: "second abcd", timeoutMs: 1000 })).before, "\n");

  // dmesg's output is lines of its own: a wait across two of them does not join them.
  const d = new ExpectStream("con0");
  d.push(`$ dmesg\n${USB_PRINTK}$ `);
  await assert.rejects(d.expect("xhci_hcdusb-storage", { step: "joined", timeoutMs: 50 }), StepTimeout);
});

test("kernel interjections: places in the lifted text map back to the received text; the lifted run belongs before a start, after an end", () => {
  assert.equal(liftInterjections("no kernel here\n[    1.000000] at a line's start\n"), undefined);
  const received = `ab${USB_PRINTK}cd\n`;
  const l = liftInterjections(received)!;
  assert.equal(l.text, "abcd\n");
  assert.equal(l.toReceived(0, "start"), 0);
  assert.equal(l.toReceived(2, "start"), 2 + USB_PRINTK.length, "a match starting at c starts after the kernel's lines");
  assert.equal(l.toReceived(2, "end"), 2, "a match ending at b ends before them");
  assert.equal(l.toReceived(5, "end"), received.length);
});

test("expect: an Oops or a reset banner that cut into a program's line is still caught, and quoted alone", async () => {
  const s = new ExpectStream("con0", linuxBadPatterns());
  const p = s.expect("never", { step: "wait", timeoutMs: 1000 });
  s.push("[    0.000000] Linux version 6.1.0 (debian)\n");
  s.push("preinit: mounting the st[    3.100000] Unable to handle kernel NULL pointer dereference at virtual address 00000000\nick\n");
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof ProductFailure);
    assert.match(e.message, /^oops on con0: \[    3\.100000\] Unable to handle kernel NULL pointer/);
    assert.match(e.context.seen!, /^\[    3\.100000\] Unable to handle/);
    return true;
  });
  const r = new ExpectStream("con0", linuxBadPatterns());
  const q = r.expect("never", { step: "wait", timeoutMs: 1000 });
  r.push("[    0.000000] Linux version 6.1.0 (debian)\nboot script: kexec into the custom ke[    0.000000] Linux version 6.1.0 (debian)\nrnel\n");
  await assert.rejects(q, (e: unknown) => e instanceof ProductFailure && /^kernel-reset on con0/.test(e.message));
});
