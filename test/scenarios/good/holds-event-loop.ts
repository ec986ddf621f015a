import { scenario } from "../../../harness/mod.ts";

// No board: a step that computes for 400 ms without yielding, as a careless scenario or a slow part of
// bootlab would. The run log must say the event loop was held, and during which step.
export default scenario({
  name: "a step that holds the event loop is named in the run log",
  targets: ["virt-arm64"],
}, async ({ step }) => {
  await step("compute without yielding", async () => {
    const until = performance.now() + 400;
    while (performance.now() < until) { /* holding the loop is the point */ }
  });
});
