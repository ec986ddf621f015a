// SSH from the lab to a guest: the ssh2 client over a lab TCP connection (no host network involved) to
// Debian's dropbear running in the guest, with a key pair made for the run. `exec` returns the exit
// status and output, like the serial shell driver does.

import type { Duplex } from "node:stream";
import ssh2 from "ssh2";
import { InfrastructureError, ProductFailure } from "../../errors/failures.ts";

export interface SshKeyPair {
  /** OpenSSH private key text. */
  privateKey: string;
  /** "ssh-ed25519 AAAA… bootlab" for authorized_keys. */
  publicKey: string;
}

export function generateKeyPair(): SshKeyPair {
  // ssh2 1.17's ed25519 generator drops a leading zero byte of the public key about once in 256 keys,
  // and then cannot parse its own private key ("Malformed OpenSSH private key"): make another.
  for (let i = 0; i < 20; i++) {
    const k = ssh2.utils.generateKeyPairSync("ed25519", { comment: "bootlab" });
    if (!(ssh2.utils.parseKey(k.private) instanceof Error)) return { privateKey: k.private, publicKey: k.public.trim() };
  }
  throw new InfrastructureError("ssh2 could not make a usable ed25519 key pair in 20 tries");
}

/** What a command run over SSH left. */
export interface SshResult {
  /** Its exit status. */
  status: number;
  /** Its standard output. */
  stdout: string;
  /** Its standard error. */
  stderr: string;
}

/** An SSH session to a guest (`await board.ssh()`): dropbear in the guest, ssh2 over the lab LAN's TCP. */
export class SshSession {
  #client: ssh2.Client;

  private constructor(client: ssh2.Client) {
    this.#client = client;
  }

  /** Opens an SSH session over an already connected stream (a lab TCP connection). */
  static connect(sock: Duplex, opts: { username: string; key: SshKeyPair; timeoutMs?: number }): Promise<SshSession> {
    const client = new ssh2.Client();
    return new Promise((resolve, reject) => {
      client.once("ready", () => resolve(new SshSession(client)));
      client.once("error", (e: Error) => reject(new ProductFailure(`SSH login as ${opts.username} failed: ${e.message}`, { expected: "an SSH session" })));
      client.connect({
        sock: sock as unknown as import("node:stream").Readable,
        username: opts.username,
        privateKey: opts.key.privateKey,
        // The guest makes a new host key every boot: there is nothing to pin.
        hostVerifier: () => true,
        readyTimeout: opts.timeoutMs ?? 20_000,
      });
    });
  }

  /**
   * Runs a command in the guest and returns its exit status and output (an InfrastructureError when it does not
   * exit within `timeoutMs`).
   */
  exec(command: string, timeoutMs = 30_000): Promise<SshResult> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new InfrastructureError(`ssh exec \`${command}\`: no exit within ${timeoutMs} ms`)), timeoutMs);
      this.#client.exec(command, (err, stream) => {
        if (err) {
          clearTimeout(timer);
          reject(new ProductFailure(`ssh exec \`${command}\` refused: ${err.message}`));
          return;
        }
        let stdout = "", stderr = "";
        let status = -1;
        stream.on("data", (b: Buffer) => (stdout += b.toString("utf8")));
        stream.stderr.on("data", (b: Buffer) => (stderr += b.toString("utf8")));
        stream.on("exit", (code: number | null) => (status = code ?? -1));
        stream.on("close", () => {
          clearTimeout(timer);
          resolve({ status, stdout, stderr });
        });
      });
    });
  }

  /** Ends the session. */
  close(): void {
    this.#client.end();
  }
}

/** Commands that start dropbear in a bootlab initramfs, accepting `publicKey` for root. */
export function dropbearStartCommands(publicKey: string): string {
  return [
    "mkdir -p /etc/dropbear /root/.ssh",
    "grep -q '^root:' /etc/passwd 2>/dev/null || echo 'root:x:0:0:root:/root:/bin/sh' >> /etc/passwd",
    "echo /bin/sh > /etc/shells",
    `echo '${publicKey}' > /root/.ssh/authorized_keys`,
    "chmod 700 /root /root/.ssh && chmod 600 /root/.ssh/authorized_keys",
    // -R: make host keys on first connection; -s: no password logins.
    "/usr/sbin/dropbear -R -s -p 22",
  ].join(" && ");
}
