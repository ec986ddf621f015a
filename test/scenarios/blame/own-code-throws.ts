import { readFileSync } from "node:fs";
import { scenario } from "../../../harness/mod.ts";

// Blame: the scenario. Its own code reads a file that does not exist: a scenario error at this line.
export default scenario({
  name: "blame: the scenario's own exception is a scenario error at its line",
  targets: ["malta-mipsel"],
}, async () => {
  readFileSync("/nonexistent/bootlab-blame-test/kernel.img");
});
