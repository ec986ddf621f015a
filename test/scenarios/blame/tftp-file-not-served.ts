import { scenario } from "../../../harness/mod.ts";

// Blame: the scenario. U-Boot asks for a file the scenario never put in the lab's TFTP root; U-Boot's
// "File not found" would blame the product, but the lab's TFTP log knows the name was never served.
export default scenario({
  name: "blame: fetching a file the lab does not serve is the scenario's mistake",
  targets: ["malta-mipsel"],
  timeouts: { bootSeconds: 60 },
}, async ({ lab, target, fixtures }) => {
  const lan = await lab.lan();
  const board = await lab.boot(target, { firmware: await fixtures.uboot() });
  const ub = await board.uboot();
  await ub.setenv("ipaddr", "192.168.1.20");
  await ub.setenv("serverip", lan.server.ip);
  await ub.tftp("kernel", "kernel-the-scenario-forgot");
});
