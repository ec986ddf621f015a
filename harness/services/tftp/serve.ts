// `bootlab serve tftp --root DIR [--port N] [--host ADDR] [--write]`: bootlab's TFTP server on a real host
// UDP socket, for real boards on a bench network or side-by-side runs with other servers. One log line per
// finished transfer; runs until SIGINT or SIGTERM.

import { statSync } from "node:fs";
import { resolve } from "node:path";
import { countFlag, parseArgs, portFlag } from "../../cli/args.ts";
import { untilSignal } from "../../cli/until-signal.ts";
import { BootlabFailure, ScenarioError } from "../../errors/failures.ts";
import { Owner } from "../../lifecycle/owner.ts";
import { HostUdpNetwork } from "../../net/host-udp.ts";
import { DEFAULT_TFTP_LIMITS, TftpServer, type TftpServerLimits } from "./server.ts";
import { describeTransfer } from "./transfer.ts";

export const SERVE_TFTP_USAGE = "bootlab serve tftp --root DIR [--port N (default 69)] [--host ADDR (default 127.0.0.1)] [--write]"
  + ` [--max-transfers N (default ${DEFAULT_TFTP_LIMITS.maxTransfers})] [--max-per-client N (default ${DEFAULT_TFTP_LIMITS.maxTransfersPerClient})]\n`;

/** Returns the exit status: 0 after a signal, 2 for bad arguments, 3 when the port cannot be bound. */
export async function serveTftp(argv: string[]): Promise<number> {
  let root: string, port: number, host: string, write: boolean, limits: Partial<TftpServerLimits>;
  try {
    const a = parseArgs(argv, { root: "value", port: "value", host: "value", write: "switch", "max-transfers": "value", "max-per-client": "value", help: "switch" });
    if (a.flags.help) {
      process.stdout.write(SERVE_TFTP_USAGE);
      return 0;
    }
    if (a.positional.length) throw new ScenarioError(`unexpected argument "${a.positional[0]}"`, { expected: SERVE_TFTP_USAGE.trim() });
    if (typeof a.flags.root !== "string") throw new ScenarioError("--root is required: the folder to serve", { expected: SERVE_TFTP_USAGE.trim() });
    root = resolve(a.flags.root);
    let isDir = false;
    try {
      isDir = statSync(root).isDirectory();
    } catch {
      // reported below
    }
    if (!isDir) throw new ScenarioError(`--root ${a.flags.root}: no such folder`);
    port = portFlag("port", a.flags.port, 69);
    host = (a.flags.host as string | undefined) ?? "127.0.0.1";
    write = a.flags.write === true;
    // Past either, a request is answered "Server busy" (TFTP error 0) and the server goes on.
    limits = {
      maxTransfers: countFlag("max-transfers", a.flags["max-transfers"], DEFAULT_TFTP_LIMITS.maxTransfers),
      maxTransfersPerClient: countFlag("max-per-client", a.flags["max-per-client"], DEFAULT_TFTP_LIMITS.maxTransfersPerClient),
    };
  } catch (e) {
    process.stderr.write(`bootlab serve tftp: ${e instanceof Error ? e.message : String(e)}\n  usage: ${SERVE_TFTP_USAGE}`);
    return 2;
  }

  const owner = new Owner("bootlab serve tftp");
  let server: TftpServer;
  try {
    server = await TftpServer.start({
      network: new HostUdpNetwork({ host }),
      port,
      root,
      write,
      limits,
      onTransfer: (l) => process.stdout.write(`${new Date().toISOString()} ${describeTransfer(l)}\n`),
    });
  } catch (e) {
    await owner.close();
    process.stderr.write(`bootlab serve tftp: ${e instanceof BootlabFailure ? e.report() : String(e)}\n`);
    return e instanceof ScenarioError ? 2 : 3;
  }
  // Adopted, so the CLI's own Ctrl-C handling (closeAllOwners) also stops it.
  owner.adopt(`TFTP server on ${host}:${port}`, () => server.close());
  process.stdout.write(`bootlab serve tftp: serving ${root} on ${host}:${server.port} (${write ? "read-write" : "read-only"}); Ctrl-C stops\n`);

  const signal = await untilSignal();
  const active = server.active().length;
  await owner.close();
  process.stdout.write(`bootlab serve tftp: ${signal}: stopped (${server.log.length} transfers served${active ? `, ${active} cut short` : ""})\n`);
  return 0;
}
