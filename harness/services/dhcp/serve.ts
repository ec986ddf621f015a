// `bootlab serve dhcp --config FILE …`: bootlab's BOOTP/DHCP server on a real host UDP socket, for real boards
// on a bench network (bind 0.0.0.0, port 67, as root) or side-by-side tests on loopback (a high port and a
// subnet broadcast address). One log line per request; runs until SIGINT or SIGTERM.

import { resolve } from "node:path";
import { parseArgs, portFlag } from "../../cli/args.ts";
import { untilSignal } from "../../cli/until-signal.ts";
import { BootlabFailure, ScenarioError } from "../../errors/failures.ts";
import { Owner } from "../../lifecycle/owner.ts";
import { HostUdpNetwork } from "../../net/host-udp.ts";
import { readDhcpConfigFile } from "./config-file.ts";
import { type DhcpDecision, DhcpServer, serveDhcp } from "./server.ts";

export const SERVE_DHCP_USAGE =
  "bootlab serve dhcp --config FILE [--host ADDR (default 0.0.0.0)] [--port N (default 67)] [--client-port N (default 68)] [--broadcast ADDR (default 255.255.255.255)]\n";

/** One line a person can read: who asked what, and what we answered. */
export function describeDhcp(d: DhcpDecision): string {
  const e = d.entry;
  const what = e.reply ? `${e.reply} ${e.ip ?? ""}${e.file ? ` file "${e.file}"` : ""}${e.nextServer ? ` next-server ${e.nextServer}` : ""}` : `no answer${e.note ? ` (${e.note})` : ""}`;
  return `${e.request.padEnd(8)} from ${e.mac} xid 0x${e.xid.toString(16).padStart(8, "0")}${e.vendorClass ? ` "${e.vendorClass}"` : ""} → ${what.trim()}`;
}

/** Returns the exit status: 0 after a signal, 2 for bad arguments or configuration, 3 when the port cannot be bound. */
export async function serveDhcpCommand(argv: string[]): Promise<number> {
  let server: DhcpServer, host: string, port: number, clientPort: number, broadcast: string;
  try {
    const a = parseArgs(argv, { config: "value", host: "value", port: "value", "client-port": "value", broadcast: "value", help: "switch" });
    if (a.flags.help) {
      process.stdout.write(SERVE_DHCP_USAGE);
      return 0;
    }
    if (a.positional.length) throw new ScenarioError(`unexpected argument "${a.positional[0]}"`, { expected: SERVE_DHCP_USAGE.trim() });
    if (typeof a.flags.config !== "string") throw new ScenarioError("--config is required: a JSON file with the subnet, pool and host entries");
    const { config, hosts } = readDhcpConfigFile(resolve(a.flags.config));
    server = new DhcpServer(config);
    for (const h of hosts) server.host(h);
    host = (a.flags.host as string | undefined) ?? "0.0.0.0";
    port = portFlag("port", a.flags.port, 67);
    clientPort = portFlag("client-port", a.flags["client-port"], 68);
    broadcast = (a.flags.broadcast as string | undefined) ?? "255.255.255.255";
  } catch (e) {
    process.stderr.write(`bootlab serve dhcp: ${e instanceof BootlabFailure ? e.report() : String(e)}\n  usage: ${SERVE_DHCP_USAGE}`);
    return 2;
  }

  const owner = new Owner("bootlab serve dhcp");
  try {
    const sock = await serveDhcp(new HostUdpNetwork({ host, broadcast: true }), server, {
      port, clientPort, broadcastAddress: broadcast,
      onDecision: (d) => process.stdout.write(`${new Date().toISOString()} ${describeDhcp(d)}\n`),
    });
    owner.adopt(`DHCP server on ${host}:${port}`, () => sock.close());
  } catch (e) {
    await owner.close();
    process.stderr.write(`bootlab serve dhcp: ${e instanceof BootlabFailure ? e.report() : String(e)}\n`);
    return e instanceof ScenarioError ? 2 : 3;
  }
  process.stdout.write(`bootlab serve dhcp: serving ${server.config.serverIp}/${server.config.prefix} on ${host}:${port}, replies to port ${clientPort} (broadcast ${broadcast}); Ctrl-C stops\n`);
  const signal = await untilSignal();
  await owner.close();
  process.stdout.write(`bootlab serve dhcp: ${signal}: stopped (${server.log.length} requests)\n`);
  return 0;
}
