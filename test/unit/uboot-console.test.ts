// The U-Boot console driver against what U-Boot really printed (a malta session from the lab, replayed):
// prompt sync, status markers, and U-Boot's own error lines named; plus the real second banner of a reset.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { SerialConsole } from "../../harness/console/serial-console.ts";
import { UBootConsole } from "../../harness/console/uboot.ts";
import { linuxBadPatterns } from "../../harness/console/bad-patterns.ts";
import { Steps } from "../../harness/scenario/steps.ts";
import { getTarget } from "../../harness/targets/catalogue.ts";
import { ProductFailure, ScenarioError } from "../../harness/errors/failures.ts";
import { tempDir } from "../helpers.ts";

// The recorded markers carry the recording process's id; the driver makes them from ours.
const recorded = readFileSync(new URL("../data/uboot-2023.01-malta-tftp-faults.console", import.meta.url), "latin1")
  .replace(/BL-127u/g, `BL-${process.pid % 1000}u`);

function replay(text = recorded) {
  const dir = tempDir("bootlab-uboot-");
  const con = new SerialConsole("con0", join(dir.path, "con0.log"), linuxBadPatterns({ bootloaderBanners: 1 }));
  const steps = new Steps();
  const ub = new UBootConsole(con, steps, getTarget("malta-mipsel").firmware.uboot!, { timeoutMs: 2000 });
  con.feed(new TextEncoder().encode(text));
  return { con, steps, ub, done: async () => (await con.close(), dir.remove()) };
}

test("uboot: a replayed malta session: prompt sync, setenv statuses, the give-up and the CRC failure named by U-Boot's own lines", async () => {
  const { ub, steps, done } = replay();
  try {
    await ub.takeOver();
    for (const [k, v] of [["ipaddr", "192.168.1.20"], ["serverip", "192.168.1.10"], ["tftptimeout", "1000"], ["tftptimeoutcountmax", "3"], ["netretry", "no"]]) {
      await ub.setenv(k!, v!);
    }
    const giveUp = await ub.run("tftpboot ${loadaddr} kernel");
    assert.equal(giveUp.status, 1);
    assert.deepEqual(giveUp.error, { name: "retry-exceeded", line: "Retry count exceeded; starting again" });
    await ub.sync();
    assert.equal(await ub.tftp("kernel", "truncated.uimg"), 4831152);
    await assert.rejects(ub.expectOk("bootm 0x82000000"), (e: unknown) => {
      assert.ok(e instanceof ProductFailure);
      assert.match(e.message, /Bad Data CRC/);
      assert.equal(e.context.step, "U-Boot: bootm 0x82000000");
      return true;
    });
    assert.equal(await ub.tftp("kernel", "kernel"), 4896688);
    assert.ok(steps.records.every((r) => r.status !== "running"));
  } finally {
    await done();
  }
});

test("uboot: a second U-Boot banner is an unexpected reset, even while a command runs", async () => {
  const banner = recorded.slice(0, recorded.indexOf("maltael # "));
  // Up to the tftpboot command's echo: the command is running when the board starts over.
  const upTo = recorded.indexOf("\n", recorded.indexOf("tftpboot ${loadaddr} kernel")) + 1;
  const { con, ub, done } = replay(recorded.slice(0, upTo));
  try {
    await ub.takeOver();
    for (let i = 0; i < 5; i++) await ub.run("setenv x y");
    const running = ub.run("tftpboot ${loadaddr} kernel");
    con.feed(new TextEncoder().encode(banner));
    await assert.rejects(running, (e: unknown) => {
      assert.ok(e instanceof ProductFailure);
      assert.match(e.message, /bootloader-reset on con0: U-Boot 2023\.01/);
      return true;
    });
  } finally {
    await done();
  }
});

/**
 * A target's U-Boot as the console sees it: each typed line cut at lineBytes - 1 characters, echoed, its
 * status marker answered with 0, then the prompt. A line without a marker (a boot command) is only recorded.
 */
function fakeUBoot(targetName: string) {
  const dir = tempDir("bootlab-uboot-");
  const con = new SerialConsole("con0", join(dir.path, "con0.log"), linuxBadPatterns({ bootloaderBanners: 1 }));
  const target = getTarget(targetName).firmware.uboot!;
  const ub = new UBootConsole(con, new Steps(), target, { timeoutMs: 2000 });
  const typed: string[] = [];
  const socket = {
    destroyed: false, on: () => socket, destroy: () => socket,
    write(text: string) {
      const line = text.replace(/\n$/, "").slice(0, target.lineBytes - 1);
      typed.push(line);
      const marker = /; echo (BL-\w+-E)\$\?$/.exec(line);
      if (marker) setImmediate(() => con.feed(new TextEncoder().encode(`${line}\r\n${marker[1]}0\r\n${target.prompt}`)));
      return true;
    },
  };
  con.attach(socket as never);
  return { ub, target, typed, close: async () => { await con.close(); dir.remove(); } };
}

test("uboot: a bootargs longer than U-Boot's line is typed in parts that fit; a command that cannot fit is refused untyped", async () => {
  const { ub, target, typed, close } = fakeUBoot("malta-mipsel");
  try {
    const mtdparts = "mtdparts=1e000000.flash:512k(u-boot)ro,64k(factory)ro,960k(rootfs),2432k(rootfs_data),128k(u-boot-env),3392k@0x90000(firmware)";
    await ub.setenvWords("bootargs", ["console=ttyS0", "panic=1", "cryptomgr.notests", "memsize=256M", mtdparts, "root=/dev/mtdblock2", "rootfstype=squashfs", "ro"]);
    assert.equal(typed.length, 2, typed.join("\n"));
    assert.ok(typed.every((l) => l.length < target.lineBytes - 1 && /; echo BL-\w+-E\$\?$/.test(l)), typed.join("\n"));
    assert.match(typed[0]!, /^setenv bootargs 'console=ttyS0 panic=1 cryptomgr\.notests memsize=256M mtdparts=\S+'; /);
    assert.match(typed[1]!, /^setenv bootargs "\$\{bootargs\} root=\/dev\/mtdblock2 rootfstype=squashfs ro"; /);
    await assert.rejects(ub.run(`echo ${"x".repeat(250)}`), (e: unknown) => {
      assert.ok(e instanceof ScenarioError);
      assert.match(e.message, /U-Boot's console line holds 255 characters; `echo x+\.\.\.` is 255/);
      return true;
    });
    assert.equal(typed.length, 2, "the refused command was not typed");
  } finally {
    await close();
  }
});

test("uboot: bootLoaded on a target that unpacks a gzipped Image sets kernel_comp_addr_r and kernel_comp_size before booti", async () => {
  const { ub, typed, close } = fakeUBoot("virt-arm64");
  try {
    await ub.bootLoaded({ consoleDevice: "ttyAMA0", ramdiskSize: 0x1234 });
    const env = typed.findIndex((l) => /^setenv kernel_comp_addr_r 0x46000000; setenv kernel_comp_size 0x02000000; echo BL-/.test(l));
    const booti = typed.findIndex((l) => l === "booti 0x40400000 0x44000000:1234 ${fdtcontroladdr}");
    assert.ok(env >= 0 && booti > env, typed.join("\n"));
  } finally {
    await close();
  }
});
