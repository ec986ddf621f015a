#!/usr/bin/env node
// `npx bootlab …` under Node: load TypeScript through tsx, then run the CLI. (Deno runs the same
// harness/cli/main.ts natively: `npx deno task bootlab …`.)
import { register } from "tsx/esm/api";

register();
await import("../harness/cli/main.ts");
