// The host's requirements (harness/host/requirements.json): which Debian package gives each tool and file
// bootlab or QEMU needs. One list serves the set-up (installs), `bootlab doctor` (reports) and the QEMU
// start-up diagnosis (names the package when QEMU says a file is missing).

import { existsSync, readFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { basename, join } from "node:path";
import { projectRoot } from "../paths.ts";

export interface ToolRequirement {
  command: string;
  package: string;
  why: string;
}

export interface FileRequirement {
  path: string;
  package: string;
  why: string;
}

export interface HostRequirements {
  tools: ToolRequirement[];
  files: FileRequirement[];
}

let cached: HostRequirements | undefined;

export function hostRequirements(): HostRequirements {
  cached ??= JSON.parse(readFileSync(join(projectRoot, "harness/host/requirements.json"), "utf8")) as HostRequirements;
  return cached;
}

export function haveCommand(command: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${command}`], { stdio: "ignore" }).status === 0;
}

/** What is missing on this host, each with the package that brings it. */
export function missingRequirements(req = hostRequirements()): { tools: ToolRequirement[]; files: FileRequirement[] } {
  return {
    tools: req.tools.filter((t) => !haveCommand(t.command)),
    files: req.files.filter((f) => !existsSync(f.path)),
  };
}

/** The Debian package that ships a file QEMU (or a tool) looks for by name, if the requirements know it. */
export function packageForFile(fileName: string, req = hostRequirements()): FileRequirement | undefined {
  const name = basename(fileName);
  return req.files.find((f) => basename(f.path) === name);
}

export function packageForCommand(command: string, req = hostRequirements()): ToolRequirement | undefined {
  return req.tools.find((t) => t.command === basename(command));
}

export function aptInstallLine(packages: Iterable<string>): string {
  return `apt-get install -y --no-install-recommends ${[...new Set(packages)].sort().join(" ")}`;
}
