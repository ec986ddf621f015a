import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { ProductFailure, scenario } from "../../../harness/mod.ts";

// A planted flake for the soak's own test: passes on its first run, fails (as the product) on the second,
// counting runs in $BOOTLAB_SOAK_COUNTER. Boots nothing.
export default scenario({
  name: "soak: a scenario that passes once, then fails",
  targets: ["malta-mipsel"],
}, async ({ step }) => {
  const counter = process.env.BOOTLAB_SOAK_COUNTER;
  if (!counter) return;
  const n = (existsSync(counter) ? Number(readFileSync(counter, "utf8")) : 0) + 1;
  writeFileSync(counter, String(n));
  await step("roll the dice", async () => {
    if (n % 2 === 0) throw new ProductFailure(`run ${n}: the planted flake fails`, { expected: "a pass", seen: "a failure" });
  });
});
