import { scenario } from "../../../harness/mod.ts";

// Blame: the scenario. Two listeners on one TCP port of a lab host: bootlab refuses the second and names
// the scenario's line that asked for it.
export default scenario({
  name: "blame: asking bootlab for something impossible is a scenario error at the calling line",
  targets: ["malta-mipsel"],
}, async ({ lab }) => {
  const lan = await lab.lan();
  lan.server.listenTcp(8080, () => {});
  lan.server.listenTcp(8080, () => {});
});
