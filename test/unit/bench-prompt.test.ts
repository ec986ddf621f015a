// The console's bench prompt (Ctrl-]): each command a person types, and the refusals that say why.
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseBenchCommand } from "../../harness/cli/interactive.ts";

test("bench prompt: commands parse to what the session does, mistakes to a sentence, an empty line to nothing", () => {
  assert.equal(parseBenchCommand("   "), undefined);
  assert.deepEqual(parseBenchCommand("help"), { kind: "help" });
  for (const q of ["quit", "exit", "detach"]) assert.deepEqual(parseBenchCommand(q), { kind: "quit" });
  assert.deepEqual(parseBenchCommand("reset"), { kind: "reset" });
  assert.deepEqual(parseBenchCommand("usb plug /tmp/stick.img"), { kind: "usb-plug", image: "/tmp/stick.img" });
  assert.deepEqual(parseBenchCommand("usb unplug"), { kind: "usb-unplug" });
  assert.deepEqual(parseBenchCommand("usb unplug hotstick1"), { kind: "usb-unplug", id: "hotstick1" });
  assert.deepEqual(parseBenchCommand(" cable  down "), { kind: "cable", up: false });
  assert.deepEqual(parseBenchCommand("cable up"), { kind: "cable", up: true });
  assert.deepEqual(parseBenchCommand("faults clear"), { kind: "faults-clear" });
  assert.deepEqual(parseBenchCommand("fault drop tftp first 3", 7), { kind: "fault", rule: { name: "console-7", match: { port: 69 }, action: "drop", first: 3 } });
  assert.deepEqual(parseBenchCommand("fault corrupt arp", 2), { kind: "fault", rule: { name: "console-2", match: { protocol: "arp" }, action: "corrupt" } });
  assert.match(parseBenchCommand("fault drop smtp") as string, /^no protocol "smtp": one of tftp, dhcp/);
  assert.match(parseBenchCommand("fault drop tftp first zero") as string, /expected "first N" with N ≥ 1/);
  assert.match(parseBenchCommand("cable sideways") as string, /^not a command: "cable sideways"/);
  assert.match(parseBenchCommand("usb plug") as string, /^not a command/);
});
