// Whose fault: every exception a run can meet lands in one kind of the taxonomy, by whose code threw it,
// and names the line to look at. The stacks here are real ones, thrown by this file (the "scenario")
// and by bootlab's own code, except where a stack is the input under test.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { asFailure, EXIT_CODE, ProductFailure, REPORT_BUG, ScenarioError, StepTimeout } from "../../harness/errors/failures.ts";
import { callSite, firstOwnFrame, stackFrames } from "../../harness/errors/stack.ts";
import { parseFlashLayoutTsv } from "../../harness/images/flash-layout-tsv.ts";
import { LanSegment } from "../../harness/lan/segment.ts";
import { ExpectStream } from "../../harness/console/expect.ts";
import { Owner } from "../../harness/lifecycle/owner.ts";
import { blameMissingTftpFile, dhcpSeen, tftpMisses } from "../../harness/lab/blame.ts";
import { DhcpServer } from "../../harness/services/dhcp/server.ts";
import { runExitCode, type ScenarioResult } from "../../harness/scenario/runner.ts";
import { projectRoot } from "../../harness/paths.ts";
import type { TransferLog } from "../../harness/services/tftp/transfer.ts";

const HERE = "test/unit/blame.test.ts";

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error("expected a throw");
}

test("blame: the scenario's own exception (a readFileSync of a missing file) is a scenario error at its line", () => {
  const f = asFailure(thrown(() => readFileSync("/nonexistent/bootlab/kernel")));
  assert.ok(f instanceof ScenarioError);
  assert.match(f.message, /^the scenario's own code threw Error: ENOENT: no such file or directory, open '\/nonexistent\/bootlab\/kernel'/);
  assert.match(f.context.at ?? "", new RegExp(`^${HERE}:\\d+:\\d+$`));
  assert.match(f.report(), /SCENARIO ERROR: [\s\S]*\n  at: +test\/unit\/blame\.test\.ts:/);
});

test("blame: a failed assert in the scenario is the product's failure, with what was expected and seen", () => {
  const f = asFailure(thrown(() => assert.equal("armv7l", "aarch64", "uname -m")));
  assert.ok(f instanceof ProductFailure);
  assert.equal(f.message, "assertion failed: uname -m");
  assert.equal(f.context.expected, '"aarch64"');
  assert.equal(f.context.seen, '"armv7l"');
  assert.match(f.context.at ?? "", new RegExp(`^${HERE}:`));
});

test("blame: an exception inside bootlab's own code is a bootlab bug, with bootlab's frames and a request to report it", () => {
  const f = asFailure(thrown(() => parseFlashLayoutTsv("x.tsv", null as unknown as string)));
  assert.equal(f.kind, "bug");
  assert.match(f.message, /^TypeError: /);
  assert.match(f.context.stack?.[0] ?? "", /^harness\/images\/flash-layout-tsv\.ts:\d+:\d+$/);
  assert.ok(f.context.stack!.some((l) => l.startsWith(HERE)), "the caller's frame is in the stack too");
  assert.equal(f.context.fix, REPORT_BUG);
  assert.match(f.report(), /^BOOTLAB BUG: TypeError: [\s\S]*\n  stack:\n    at harness\/images\/flash-layout-tsv\.ts:/);
});

test("blame: an operating-system error raised in bootlab is the host's; one with no frame of ours is too", () => {
  const inBootlab = Object.assign(new Error("write ENOSPC"), {
    code: "ENOSPC", syscall: "write",
    stack: `Error: write ENOSPC\n    at writeSync (node:fs:927:3)\n    at Transcript.note (file://${projectRoot}/harness/console/transcript.ts:40:5)\n    at file://${projectRoot}/scenarios/lan/x.ts:9:3`,
  });
  assert.equal(asFailure(inBootlab).kind, "infrastructure");
  const socket = Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET", stack: "Error: read ECONNRESET\n    at TCP.onStreamRead (node:internal/stream_base_commons:217:20)" });
  assert.equal(asFailure(socket).kind, "infrastructure");
  assert.equal(asFailure(socket).message, "unexpected error: read ECONNRESET");
  // Without an errno, an exception with no frame of anyone's is still bootlab's (nothing else ran).
  assert.equal(asFailure("a string was thrown").kind, "bug");
});

test("blame: frames of the runtime (node:, Deno's ext:, <anonymous>) and of dependencies never take the blame", () => {
  const stack = [
    "Error: x",
    "    at Object.readFileSync (ext:deno_fs/30_fs.js:100:3)",
    "    at new Promise (<anonymous>)",
    "    at Client.emit (file:///p/node_modules/ssh2/lib/client.js:10:2)",
    "    at async body (file:///home/u/lab/scenarios/boot.ts:21:9)",
  ].join("\n");
  // "<anonymous>" has no line: it is not a frame anyone can be blamed for.
  assert.equal(stackFrames(stack).length, 3);
  assert.deepEqual(firstOwnFrame(stack), { file: "/home/u/lab/scenarios/boot.ts", line: 21, column: 9 });
});

test("blame: bootlab refusing a request names the scenario's line that made it (callSite through bootlab's layers)", async () => {
  const owner = new Owner("blame-test");
  try {
    const seg = new LanSegment("lan0", owner);
    seg.addHostPort("a", () => {});
    const e = thrown(() => seg.setLink("nope", false)) as ScenarioError;
    assert.ok(e instanceof ScenarioError);
    assert.match(e.message, /lan0: no port "nope"/);
    assert.match(e.context.expected ?? "", /one of the switch's ports: a/);
    assert.match(e.context.at ?? "", new RegExp(`^${HERE}:\\d+:\\d+$`));
    const dup = thrown(() => seg.addHostPort("a", () => {})) as ScenarioError;
    assert.ok(dup instanceof ScenarioError);
    assert.match(dup.context.at ?? "", new RegExp(`^${HERE}:`));
  } finally {
    await owner.close();
  }
  assert.match(callSite() ?? "", new RegExp(`^${HERE}:`));
});

test("blame: a second wait on a console while the first still waits is the scenario's mistake, at its line", async () => {
  const s = new ExpectStream("con0");
  const first = s.expect("login:", { step: "login prompt", timeoutMs: 1000 });
  const second = await s.expect("# ", { step: "shell prompt", timeoutMs: 1000 }).then(() => undefined, (e: unknown) => e);
  assert.ok(second instanceof ScenarioError);
  assert.equal(second.message, 'con0: expect("shell prompt") while "login prompt" is still waiting');
  assert.match(second.context.at ?? "", new RegExp(`^${HERE}:`));
  s.push("login:");
  await first;
});

const readLog = (file: string, code?: number): TransferLog => ({
  kind: "read", file, client: { address: "192.168.1.20", port: 3001 }, mode: "octet", requested: [], oack: [], blksize: 512,
  windowsize: 1, bytes: 0, blocks: 0, retransmits: 0, timeouts: 0, duplicates: 0, startedAtMs: 0, durationMs: 1,
  outcome: code ? "refused" : "ok", ...(code ? { error: { code, message: "File not found", by: "server" as const } } : {}),
});

test("blame: U-Boot's \"File not found\" for a name the lab never served becomes the scenario's error; other failures stay", () => {
  const ub = new ProductFailure("U-Boot: `tftpboot 0x82000000 vmlinux` failed: TFTP error: 'File not found' (1)", {
    step: "U-Boot: tftpboot kernel vmlinux", seen: "TFTP error: 'File not found' (1)",
  });
  const misses = tftpMisses("server", [readLog("initramfs"), readLog("vmlinux", 1)]);
  assert.deepEqual(misses, [{ file: "vmlinux", client: "192.168.1.20:3001", server: "server" }]);
  const f = blameMissingTftpFile(ub, misses);
  assert.ok(f instanceof ScenarioError);
  assert.equal(f.message, `the lab's TFTP server on server has no "vmlinux": the scenario asked the device to fetch a file it did not serve`);
  assert.equal(f.context.step, "U-Boot: tftpboot kernel vmlinux");
  assert.match(f.context.seen ?? "", /192\.168\.1\.20:3001 asked for "vmlinux" and got TFTP error 1; the device said: TFTP error: 'File not found'/);
  // Served everything: the device's words stand. Another failure, or another kind: untouched.
  assert.equal(blameMissingTftpFile(ub, []), ub);
  const panic = new ProductFailure("Kernel panic - not syncing: VFS: Unable to mount root fs");
  assert.equal(blameMissingTftpFile(panic, misses), panic);
  const late = new StepTimeout("File not found never printed");
  assert.equal(blameMissingTftpFile(late, misses), late);
  // An access violation (error 2) is not a missing file.
  assert.deepEqual(tftpMisses("server", [readLog("../etc/passwd", 2)]), []);
});

test("blame: the exit status of a run is the highest of its failures' — 1 only when nothing but the product failed", () => {
  const r = (failure?: ProductFailure | ScenarioError | StepTimeout | ReturnType<typeof asFailure>, status: "passed" | "failed" = "failed") =>
    ({ status, failure } as unknown as ScenarioResult);
  assert.deepEqual(EXIT_CODE, { product: 1, timeout: 1, scenario: 2, infrastructure: 3, bug: 4 });
  assert.equal(runExitCode([]), 0);
  assert.equal(runExitCode([r(undefined, "passed"), r(new ProductFailure("x"), "passed")]), 0, "an expected failure is a pass");
  assert.equal(runExitCode([r(new ProductFailure("x")), r(new StepTimeout("t"))]), 1);
  assert.equal(runExitCode([r(new ProductFailure("x")), r(new ScenarioError("s"))]), 2);
  const hostFailure = asFailure(Object.assign(new Error("read EIO"), { code: "EIO", stack: "Error: read EIO\n    at TCP.onStreamRead (node:internal/stream_base_commons:217:20)" }));
  assert.equal(runExitCode([r(hostFailure), r(new ScenarioError("s"))]), 3);
  assert.equal(runExitCode([r(asFailure(thrown(() => parseFlashLayoutTsv("x", null as unknown as string)))), r(new ProductFailure("p"))]), 4);
});

test("blame: a failed udhcpc's report says what the lab saw — the DHCP server's answers to the board's MAC and its switch port's frames", async () => {
  const owner = new Owner("test");
  try {
    const dhcpData = (name: string) => new Uint8Array(readFileSync(new URL(`../data/dhcp/${name}`, import.meta.url)));
    const discover = dhcpData("udhcpc-1.35-virt-arm64-discover.bin");
    const request = dhcpData("udhcpc-1.35-virt-arm64-request.bin");
    const server = new DhcpServer({ serverIp: "192.168.1.10", prefix: 24, pool: { start: "192.168.1.100", end: "192.168.1.110" } });
    const mac = server.handle(discover).entry.mac;
    // The server withholds the ACKs: the client's REQUESTs arrive and go unanswered.
    server.withhold("REQUEST", 2);
    server.handle(request);
    server.handle(request);
    const seg = new LanSegment("lan0", owner);
    const board = seg.addHostPort("board", () => {});
    seg.addHostPort("lab", () => {});
    const before = seg.portCounters("board");
    board.send(frameOf([0x52, 0x54, 0x00, 0x12, 0x34, 0x56]));
    seg.setLink("board", false);
    board.send(frameOf([0x52, 0x54, 0x00, 0x12, 0x34, 0x56]));
    const lines = dhcpSeen(server.log, mac.toUpperCase(), "board", before, seg.portCounters("board"));
    assert.match(lines[0]!, new RegExp(`^DHCP DISCOVER from ${mac.toUpperCase()} at \\d+\\.\\d\\d s: answered OFFER 192\\.168\\.1\\.100$`));
    assert.match(lines[1]!, /^DHCP REQUEST from .* not answered \(withheld \(fault\)\)$/);
    assert.equal(lines[3], "switch port board meanwhile: 2 frames in from the board, 0 delivered to it");
    assert.deepEqual(dhcpSeen([], mac, "board"), [`the lab's DHCP server got no request from ${mac}`]);
    const report = new ProductFailure("udhcpc exited with status 1", { lab: lines }).report();
    assert.match(report, /\n {2}the lab saw:\n {4}DHCP DISCOVER/);
  } finally {
    await owner.close();
  }
});

/** A broadcast ARP-typed frame from `src`, the smallest Ethernet frame. */
function frameOf(src: number[]): Uint8Array {
  return new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, ...src, 0x08, 0x06, ...new Array(46).fill(0)]);
}
