// Runs a host tool to completion. A missing tool or a non-zero exit is an InfrastructureError that says
// which command, and shows its stderr — never a bare "exit code 1".

import { spawn } from "node:child_process";
import { InfrastructureError } from "../errors/failures.ts";

export interface CommandResult {
  stdout: string;
  stderr: string;
  code: number;
}

export function runCommand(
  argv: string[],
  opts: { cwd?: string; env?: Record<string, string>; input?: string | Uint8Array; allowFailure?: boolean; why?: string } = {},
): Promise<CommandResult> {
  const [cmd, ...args] = argv;
  return new Promise((resolve, reject) => {
    const child = spawn(cmd!, args, {
      cwd: opts.cwd,
      env: opts.env ? { ...process.env, ...opts.env } : process.env,
      stdio: ["pipe", "pipe", "pipe"],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on("data", (b: Buffer) => out.push(b));
    child.stderr!.on("data", (b: Buffer) => err.push(b));
    child.on("error", (e: NodeJS.ErrnoException) => {
      reject(new InfrastructureError(
        e.code === "ENOENT"
          ? `host tool "${cmd}" is not installed (needed to ${opts.why ?? "run " + argv.join(" ")}); run \`npx bootlab doctor\``
          : `could not run ${cmd}: ${e.message}`,
      ));
    });
    child.on("close", (code: number | null, signal: string | null) => {
      const res = { stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8"), code: code ?? -1 };
      if (res.code !== 0 && !opts.allowFailure) {
        const tail = res.stderr.trim().split("\n").slice(-8).join("\n    ");
        reject(new InfrastructureError(
          `\`${argv.join(" ")}\` failed (${signal ? "signal " + signal : "exit " + res.code})` +
            (opts.why ? ` while trying to ${opts.why}` : "") + (tail ? `:\n    ${tail}` : ""),
        ));
      } else resolve(res);
    });
    if (opts.input !== undefined) child.stdin!.end(opts.input);
    else child.stdin!.end();
  });
}
