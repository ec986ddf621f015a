// npm run fuzz -- [N] [--seed S] [--area NAME[,NAME]] [--seconds S] [--hang-ms MS] [--list] [--outcomes] [--no-save]
// Fuzzes every area (or the named ones) in turn: N inputs each (default 10000), or for S seconds each, or
// whichever ends first. Crashing and hanging inputs go to test/data/fuzz/<area>/. Exit status 1 on any crash,
// hang or growing heap; 2 on bad arguments. See fuzz/README.md.

import { BootlabFailure } from "../harness/errors/failures.ts";
import { fuzzCommand, parseFuzzArgs, USAGE } from "./cli.ts";

let command;
try {
  command = parseFuzzArgs(process.argv.slice(2));
} catch (e) {
  const expected = e instanceof BootlabFailure && e.context.expected ? ` (expected ${e.context.expected})` : "";
  console.error(`fuzz: ${(e as Error).message}${expected}\nusage: ${USAGE}`);
  process.exit(2);
}
process.exitCode = await fuzzCommand(command);
