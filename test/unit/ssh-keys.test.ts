import { test } from "node:test";
import assert from "node:assert/strict";
import ssh2 from "ssh2";
import { dropbearStartCommands, generateKeyPair } from "../../harness/services/ssh/client.ts";

test("ssh: every key pair the lab makes parses (ssh2's generator alone fails about 1 in 170)", () => {
  for (let i = 0; i < 600; i++) {
    const k = generateKeyPair();
    assert.ok(!(ssh2.utils.parseKey(k.privateKey) instanceof Error));
    assert.match(k.publicKey, /^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI[A-Za-z0-9+/]+=* bootlab$/);
  }
});

test("ssh: the dropbear start-up puts the public key in root's authorized_keys", () => {
  const k = generateKeyPair();
  const cmd = dropbearStartCommands(k.publicKey);
  assert.ok(cmd.includes(`echo '${k.publicKey}' > /root/.ssh/authorized_keys`));
  assert.match(cmd, /\/usr\/sbin\/dropbear -R -s -p 22$/);
});
