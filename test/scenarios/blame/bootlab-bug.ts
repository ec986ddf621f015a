import { scenario } from "../../../harness/mod.ts";

// Blame: bootlab. The scenario breaks one of bootlab's objects behind its back, so bootlab's own code
// throws a TypeError, as a bug in it would: a "bootlab bug" with its stack, exit 4.
export default scenario({
  name: "blame: an exception inside bootlab is a bootlab bug",
  targets: ["malta-mipsel"],
}, async ({ lab }) => {
  const lan = await lab.lan();
  (lan as unknown as { hosts: undefined }).hosts = undefined;
  lan.addHost("printer", "192.168.1.99");
});
