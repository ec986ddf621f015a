import { createHash } from "node:crypto";
import { ProductFailure, scenario } from "../../harness/mod.ts";
import { seededBytes } from "../../harness/lan/faults.ts";

// busybox wget downloads 16 MB from the lab's HTTP server over the lab's own TCP — once on a clean wire,
// once with 3 % of the lab's TCP segments dropped and some delayed past their successors — byte-exact
// both times; a missing file is a 404 that wget reports in its own words.
export default scenario({
  name: "wget fetches 16 MB over lab TCP, also under loss and reordering; a missing file is a 404",
  targets: "all",
  timeouts: { bootSeconds: 90, stepSeconds: 120 },
}, async ({ lab, target, fixtures, step }) => {
  const lan = await lab.lan();
  const blob = seededBytes(7, 16 << 20);
  const sha = createHash("sha256").update(blob).digest("hex");
  lan.http.file("/images/blob.bin", blob);

  const board = await lab.boot(target, {
    kernel: await fixtures.kernel(),
    initrd: await fixtures.initramfs({ modules: target.machine.nic.linuxModules }),
    // Booted once to the shell, restored from there afterwards (where the target allows it).
    snapshot: { at: "shell", name: "nic-shell" },
  });
  const sh = await board.shell();
  await board.networkUp({ ip: "192.168.1.20" });

  const fetch = async (label: string) => {
    const got = await sh.expectOk("rm -f /tmp/blob.bin; wget -q -O /tmp/blob.bin http://192.168.1.10/images/blob.bin && sha256sum /tmp/blob.bin", {
      step: `wget 16 MB (${label})`, timeoutMs: 120_000,
    });
    if (!got.startsWith(sha)) throw new ProductFailure(`sha256 of the download (${label}) differs`, { expected: sha, seen: got });
  };
  await fetch("clean wire");
  await step("the lab's TCP under loss and reordering", async () => {
    lan.faults.add({ name: "3% TCP loss", match: { protocol: "tcp", fromPort: "server" }, probability: 0.03, action: "drop" });
    lan.faults.add({ name: "2% TCP reordered", match: { protocol: "tcp", fromPort: "server" }, probability: 0.02, action: "reorder", delayMs: 5 });
    await fetch("3% loss, 2% reordered");
    const fired = lan.faults.log.length;
    if (fired < 100) throw new ProductFailure(`only ${fired} faults fired`, { expected: "hundreds of dropped or delayed segments" });
    lan.faults.clear();
  });
  const r = await sh.run("wget -q -O /tmp/none http://192.168.1.10/nope 2>&1", { step: "wget a missing file" });
  if (r.status === 0 || !/404/.test(r.output)) throw new ProductFailure("a missing file did not give a 404", { seen: r.output });
  if (!lan.http.log.some((e) => e.path === "/nope" && e.status === 404)) throw new ProductFailure("the HTTP log has no 404 for /nope");
});
