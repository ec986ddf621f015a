// @ts-nocheck — deliberately malformed, for the validation tests
import { scenario } from "../../../harness/mod.ts";
export default scenario({
  name: "",
  targets: ["malta-mipsel", "pdp-11"],
  timeouts: { bootSeconds: -5, stepseconds: 10 },
  timeout: 30,
}, async () => {});
