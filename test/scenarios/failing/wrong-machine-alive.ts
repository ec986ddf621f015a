import assert from "node:assert/strict";
import { scenario } from "../../../harness/mod.ts";

// Fails by the scenario's own check while the board is up and well (no panic, no reset): what
// `bootlab run --attach-on-failure` needs to hand a person the live board (test/integration/console-cli.test.ts).
export default scenario({ name: "a board that is up, failing a check of the scenario's", targets: ["virt-armhf", "virt-arm64"] }, async ({ lab, target, fixtures }) => {
  const board = await lab.boot(target, { kernel: await fixtures.kernel(), initrd: await fixtures.initramfs() });
  const sh = await board.shell();
  assert.equal((await sh.expectOk("uname -m")).trim(), "pdp11", "the machine this board should be");
});
