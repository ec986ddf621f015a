// Second thoughts on a failure with what the lab's own services saw. The device reports what it saw
// ("TFTP error: 'File not found'"), which blames the product; the lab knows better when the name was
// never put in its TFTP root: the scenario asked for a file it did not serve.

import { type BootlabFailure, ScenarioError } from "../errors/failures.ts";
import type { TransferLog } from "../services/tftp/transfer.ts";
import type { DhcpLogEntry } from "../services/dhcp/server.ts";
import type { PortCounters } from "../lan/segment.ts";
import { userSite } from "../errors/stack.ts";

/** A read a lab TFTP server refused with error 1: the name, who asked, and which lab host served it. */
export interface TftpMiss {
  file: string;
  client: string;
  server: string;
}

export function tftpMisses(server: string, log: readonly TransferLog[]): TftpMiss[] {
  return log
    .filter((l) => l.kind === "read" && l.error?.code === 1 && l.error.by === "server")
    .map((l) => ({ file: l.file, client: `${l.client.address}:${l.client.port}`, server }));
}

// U-Boot: "TFTP error: 'File not found' (1)"; busybox tftp: "tftp: server error: (1) File not found";
// curl: "TFTP: File Not Found"; tftp-hpa: "Error code 1: File not found".
const NOT_FOUND = /file not found/i;

/**
 * A product failure whose words are "File not found", in a run where a lab TFTP server refused a read
 * of a name it does not have, becomes a scenario error naming that file. Anything else is kept.
 */
export function blameMissingTftpFile(f: BootlabFailure, misses: readonly TftpMiss[]): BootlabFailure {
  if (f.kind !== "product" || misses.length === 0) return f;
  const words = [f.message, f.context.seen ?? ""].join("\n");
  if (!NOT_FOUND.test(words)) return f;
  const names = [...new Set(misses.map((m) => `"${m.file}"`))];
  const last = misses[misses.length - 1]!;
  return new ScenarioError(`the lab's TFTP server on ${last.server} has no ${names.join(", ")}: the scenario asked the device to fetch a file it did not serve`, {
    ...f.context,
    // The device's failure was raised where the scenario asked for the file: that line is the one to fix.
    at: f.context.at ?? userSite(f.stack),
    expected: `${names.join(", ")} in the lab's TFTP files or root`,
    seen: `${last.client} asked for "${last.file}" and got TFTP error 1; the device said: ${(f.context.seen ?? f.message).split("\n")[0]}`,
    fix: "put the file in lan.tftpFiles (or the tftpRoot folder), or correct the name the device is told to fetch",
  }, { cause: f });
}

/**
 * What the lab saw of a board's DHCP exchange, for a failed `udhcpc`: each request from its MAC and the
 * answer, and the frames its switch port carried meanwhile. A REQUEST missing here that the client says
 * it sent was lost before the switch; an ACK listed here that the client never saw was lost after it.
 */
export function dhcpSeen(log: readonly DhcpLogEntry[], mac: string, port: string, before?: PortCounters, after?: PortCounters): string[] {
  const mine = log.filter((e) => e.mac === mac.toLowerCase());
  const lines = mine.length === 0
    ? [`the lab's DHCP server got no request from ${mac}`]
    : mine.map((e) => `DHCP ${e.request} from ${mac} at ${(e.atMs / 1000).toFixed(2)} s: ${e.reply ? `answered ${e.reply}${e.ip ? ` ${e.ip}` : ""}` : `not answered${e.note ? ` (${e.note})` : ""}`}`);
  if (before && after) {
    lines.push(`switch port ${port} meanwhile: ${after.framesIn - before.framesIn} frames in from the board, ${after.framesOut - before.framesOut} delivered to it`);
  }
  return lines;
}
