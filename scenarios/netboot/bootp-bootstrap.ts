import { readFileSync } from "node:fs";
import { linuxCommandLine, ProductFailure, scenario } from "../../harness/mod.ts";
import { hex } from "../../harness/console/uboot.ts";
import { elfToBinary } from "../../harness/images/elf.ts";

// Seed 002, a BOOTP + TFTP bootstrap loader: U-Boot's `bootp`; the server's host entry for its MAC gives
// it an address, a next-server that is a second lab host, and a file name
// `name.LOAD.START.ext` whose hex numbers say where to load the code and where to jump. The first two
// requests go unanswered, so the capture shows the client's retries. Once it has an address the board
// pings the TFTP host, downloads, and jumps — malta with `go` to the raw kernel (the bootstrap
// "jump to start"), the ARM boards with their boot command at the decoded address.
export default scenario({
  name: "BOOTP bootstrap (seed 002): withheld requests retried, next-server on a second host, name.LOAD.START.ext decoded and booted",
  targets: "all",
  timeouts: { bootSeconds: 90, stepSeconds: 90 },
}, async ({ lab, target, fixtures, step, log }) => {
  const u = target.firmware.uboot!;
  const lan = await lab.lan();
  const tftp2 = await lan.addTftpHost("bootstrap-tftp", "192.168.1.11");
  const kernel = await fixtures.bootloaderKernel();
  let code: Uint8Array = new Uint8Array(readFileSync(kernel.path));
  let entry = u.addresses.kernel;
  if (kernel.format === "uImage") {
    // The bootstrap loader jumps into raw code, not a uImage: the kernel's own flat binary.
    const elf = elfToBinary(new Uint8Array(readFileSync(await fixtures.shippedKernel())));
    if (typeof elf === "string") throw new ProductFailure(`kernel is not an ELF: ${elf}`);
    code = elf.binary;
    entry = elf.entry;
  }
  // Addresses in the name are offsets into RAM, as on the seed's board (RAM at 0): mapped into the target's RAM here.
  const name = `${target.name}.${(entry - u.addresses.ramStart).toString(16)}.${(entry - u.addresses.ramStart).toString(16)}.bin`;
  tftp2.files.set(name, code);
  tftp2.files.set("initramfs.cpio.gz", readFileSync(await fixtures.initramfs({ modules: target.machine.nic.linuxModules })));

  const board = await lab.boot(target, { firmware: await fixtures.uboot() });
  // The seed's dhcpd.conf host entry: fixed address, next-server, filename. (Debian's U-Boot is built with
  // CMD_DHCP, so its `bootp` opens with a DHCPDISCOVER and insists on a DHCPACK: a BOOTP-only server —
  // `bootpOnly` — never gets it past "Retry time exceeded". The BOOTP fields siaddr/file carry the answer.)
  lan.dhcp.host({ mac: board.mac, ip: "192.168.1.77", file: name, nextServer: tftp2.host.ip });
  lan.dhcp.withhold("DISCOVER", 2);
  const ub = await board.uboot();
  await ub.setenv("autoload", "no");
  await step("bootp, the first two requests unanswered", async () => {
    await ub.expectOk("bootp", { timeoutMs: 60_000 });
    const mine = lan.dhcp.log.filter((e) => e.mac === board.mac);
    const kinds = mine.map((e) => `${e.request}${e.reply ? "→" + e.reply : e.note ? ` (${e.note})` : ""}`);
    const want = ["DISCOVER (withheld (fault))", "DISCOVER (withheld (fault))", "DISCOVER→OFFER", "REQUEST→ACK"];
    if (kinds.join(", ") !== want.join(", ")) {
      throw new ProductFailure("the exchange is not two unanswered requests, then an offer taken", { expected: want.join(", "), seen: kinds.join(", ") });
    }
    const gaps = mine.slice(1).map((e, i) => e.atMs - mine[i]!.atMs);
    log(`BOOTP requests ${kinds.join(", ")}; retry gaps ${gaps.map((g) => `${g} ms`).join(", ")}`);
  });
  const env = { ipaddr: await ub.getenv("ipaddr"), serverip: await ub.getenv("serverip"), bootfile: await ub.getenv("bootfile") };
  if (env.ipaddr !== "192.168.1.77" || env.serverip !== tftp2.host.ip || env.bootfile !== name) {
    throw new ProductFailure("U-Boot's environment after bootp differs from the host entry", { expected: `192.168.1.77, ${tftp2.host.ip}, ${name}`, seen: JSON.stringify(env) });
  }
  await ub.expectOk(`ping ${tftp2.host.ip}`, { step: "the board pings the TFTP host from its BOOTP address" });

  const m = /^[^.]+\.([0-9a-fA-F]+)\.([0-9a-fA-F]+)\.[^.]+$/.exec(env.bootfile);
  if (!m) throw new ProductFailure(`the boot file "${env.bootfile}" is not name.LOAD.START.ext`);
  const load = u.addresses.ramStart + parseInt(m[1]!, 16);
  const start = u.addresses.ramStart + parseInt(m[2]!, 16);
  await ub.expectOk(`tftpboot ${hex(load)} \${bootfile}`, { step: `tftpboot the bootstrap file to ${hex(load)}`, timeoutMs: 120_000 });
  const rd = await ub.tftp("ramdisk", "initramfs.cpio.gz");
  const args = [...linuxCommandLine(target), ...u.bootargs];
  if (u.kernel.format === "uImage") {
    // MIPS: jump straight in; the kernel reads its command line from go's arguments (argv[0] is skipped).
    ub.boot(`go ${hex(start)} bootstrap ${args.join(" ")} rd_start=${ub.addr("ramdisk")} rd_size=${rd}`);
  } else {
    await ub.setenv("bootargs", `'${args.join(" ")}'`);
    for (const [k, v] of Object.entries(kernel.env)) await ub.setenv(k, v);
    ub.boot(`${u.kernel.bootCommand} ${hex(start)} ${ub.addr("ramdisk")}:${rd.toString(16)} \${fdtcontroladdr}`);
  }
  const sh = await board.shell();
  // The lab pings the board at the address BOOTP gave it.
  await sh.expectOk(`for m in ${target.machine.nic.linuxModules.join(" ")}; do modprobe $m; done; ip link set eth0 up && ip addr add 192.168.1.77/24 dev eth0`);
  const rtt = await step("the lab pings the board at its BOOTP address", async () => {
    for (let i = 1; i <= 10; i++) {
      const t = await lan.server.ping("192.168.1.77", 1000, i);
      if (t !== undefined) return t;
    }
    throw new ProductFailure("no echo reply from 192.168.1.77", { expected: "an ICMP echo reply" });
  });
  log(`ping 192.168.1.77: ${rtt.toFixed(1)} ms`);
  await board.powerOff();
});
