// The configuration file of `bootlab serve dhcp`: JSON in the spirit of dhcpd.conf — subnet, pool, defaults,
// per-MAC host entries and vendor-class rules. Every problem is reported with the file and field before the
// server binds anything.

import { readFileSync } from "node:fs";
import { FieldReader } from "../../validation/fields.ts";
import { ScenarioError } from "../../errors/failures.ts";
import type { DhcpConfig, DhcpHostEntry, VendorClassRule } from "./server.ts";

const IP = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;
const MAC = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/;
const ip = { pattern: IP, what: "a dotted IPv4 address" };

export const DHCP_CONFIG_EXAMPLE = `{
  "serverIp": "192.168.1.10", "prefix": 24, "router": "192.168.1.1",
  "pool": { "start": "192.168.1.100", "end": "192.168.1.199" },
  "file": "openwrt-initramfs.bin",
  "hosts": [ { "mac": "52:54:00:12:34:56", "ip": "192.168.1.2", "file": "boot.scr", "nextServer": "192.168.1.20" } ],
  "vendorClasses": [ { "match": "U-Boot", "file": "uImage" } ]
}`;

export interface DhcpConfigFile {
  config: DhcpConfig;
  hosts: DhcpHostEntry[];
}

/** Reads and checks a config; `text` is the file's content (read from `path` when omitted). */
export function readDhcpConfigFile(path: string, text?: string): DhcpConfigFile {
  let raw: unknown;
  try {
    raw = JSON.parse(text ?? readFileSync(path, "utf8"));
  } catch (e) {
    throw new ScenarioError(`${path}: not a readable JSON file (${e instanceof Error ? e.message : String(e)})`, { expected: `JSON like:\n${DHCP_CONFIG_EXAMPLE}` });
  }
  const r = new FieldReader(path, raw);
  const config: DhcpConfig = {
    serverIp: r.string("serverIp", ip),
    prefix: r.number("prefix", { integer: true, min: 1, max: 30, unit: "subnet prefix length" }),
  };
  const router = r.optionalString("router", ip);
  if (router) config.router = router;
  const dns = r.stringArray("dns", { optional: true });
  for (const [i, d] of dns.entries()) if (!IP.test(d)) r.problem(`dns[${i}]`, "a dotted IPv4 address", d);
  if (dns.length) config.dns = dns;
  const lease = r.optionalNumber("leaseSeconds", { integer: true, min: 60, unit: "seconds" });
  if (lease !== undefined) config.leaseSeconds = lease;
  const pool = r.object("pool", { optional: true });
  if (pool) {
    config.pool = { start: pool.string("start", ip), end: pool.string("end", ip) };
    pool.noOtherFields();
  }
  const file = r.optionalString("file");
  if (file) config.file = file;
  const next = r.optionalString("nextServer", ip);
  if (next) config.nextServer = next;
  const bootp = r.optionalBoolean("bootp");
  if (bootp !== undefined) config.bootp = bootp;

  const list = (key: string): FieldReader[] => {
    const v = (raw as Record<string, unknown> | null)?.[key];
    const seen = r.optionalArrayLength(key);
    return seen === undefined ? [] : Array.from({ length: seen }, (_, i) => new FieldReader(path, (v as unknown[])[i], `${key}[${i}]`, r.problems));
  };
  const hosts: DhcpHostEntry[] = [];
  for (const h of list("hosts")) {
    const e: DhcpHostEntry = { mac: h.string("mac", { pattern: MAC, what: "a MAC address like 52:54:00:12:34:56" }), ip: h.string("ip", ip) };
    const f = h.optionalString("file");
    if (f) e.file = f;
    const n = h.optionalString("nextServer", ip);
    if (n) e.nextServer = n;
    const hn = h.optionalString("hostname");
    if (hn) e.hostname = hn;
    const rp = h.optionalString("rootPath");
    if (rp) e.rootPath = rp;
    h.noOtherFields();
    hosts.push(e);
  }
  const vendorClasses: VendorClassRule[] = [];
  for (const v of list("vendorClasses")) {
    const rule: VendorClassRule = { match: v.string("match", { what: "a substring of the client's option 60" }) };
    const f = v.optionalString("file");
    if (f) rule.file = f;
    const n = v.optionalString("nextServer", ip);
    if (n) rule.nextServer = n;
    v.noOtherFields();
    vendorClasses.push(rule);
  }
  if (vendorClasses.length) config.vendorClasses = vendorClasses;
  r.noOtherFields();
  r.throwIfProblems("DHCP server configuration");
  return { config, hosts };
}
