import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer, connect, type Socket } from "node:net";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { QmpClient, QmpParser } from "../../harness/machine/qmp.ts";
import { tempDir } from "../helpers.ts";

// A real QMP session with QEMU 7.2 (qemu-system-mipsel -qmp stdio): greeting, capabilities, status,
// stop/cont, an unknown command, system_reset, quit — with the events QEMU sent in between.
const SESSION = readFileSync(new URL("../data/qmp-session-qemu-7.2.jsonl", import.meta.url), "utf8");

test("qmp: the parser splits real QEMU output at any chunk boundary and keeps events", () => {
  const bytes = new TextEncoder().encode(SESSION);
  for (const step of [1, 7, 64, bytes.length]) {
    const p = new QmpParser();
    const all = [];
    for (let i = 0; i < bytes.length; i += step) all.push(...p.push(bytes.subarray(i, i + step)).messages);
    assert.equal(all.length, 13);
    assert.equal(all.filter((m) => "event" in m).length, 4);
  }
});

test("qmp: malformed lines are reported, never thrown", () => {
  const p = new QmpParser();
  const r = p.push(new TextEncoder().encode('{"return": {}, "id": "x"}\nnot json\n{"unrelated": 1}\n{"trunc'));
  assert.equal(r.messages.length, 1);
  assert.deepEqual(r.malformed, ["not json", '{"unrelated": 1}']);
});

/** Replays the captured session: answers each command with what QEMU said for that id. */
function fakeQemu(path: string): Promise<() => void> {
  const lines = SESSION.trim().split("\n");
  const server = createServer((s: Socket) => {
    let sent = 1;
    s.write(lines[0] + "\r\n");
    let buf = "";
    s.on("data", (b) => {
      buf += b.toString();
      let nl;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const cmd = JSON.parse(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
        while (sent < lines.length) {
          const l = lines[sent++]!;
          s.write(l + "\r\n");
          if (JSON.parse(l).id === cmd.id) break;
        }
      }
    });
  });
  return new Promise((r) => server.listen(path, () => r(() => server.close())));
}

test("qmp: client handshake, commands by id, errors and events against a replayed QEMU 7.2", async () => {
  const t = tempDir();
  const stop = await fakeQemu(join(t.path, "q.sock"));
  try {
    const client = await QmpClient.connect(connect(join(t.path, "q.sock")));
    assert.equal(client.version, "7.2.22");
    const events: string[] = [];
    client.onEvent((e) => events.push(e));
    assert.deepEqual(await client.status(), { status: "running", singlestep: false, running: true });
    await client.execute("stop");
    assert.equal((await client.status()).status, "paused");
    await assert.rejects(client.execute("no-such-command"), /CommandNotFound: The command no-such-command has not been found/);
    await client.execute("cont");
    await client.execute("system_reset");
    await client.execute("quit");
    assert.deepEqual(events, ["STOP", "RESUME", "RESET", "SHUTDOWN"]);
    client.close();
  } finally {
    stop();
    t.remove();
  }
});

test("qmp: a socket that closes fails pending commands instead of hanging", async () => {
  const t = tempDir();
  const server = createServer((s) => {
    s.write('{"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7}, "package": ""}, "capabilities": []}}\n');
    s.once("data", () => s.write('{"return": {}, "id": "bl1"}\n'));
    s.on("data", (b) => b.toString().includes("query-status") && s.destroy());
  });
  await new Promise<void>((r) => server.listen(join(t.path, "q.sock"), () => r()));
  try {
    const client = await QmpClient.connect(connect(join(t.path, "q.sock")));
    await assert.rejects(client.status(), /connection closed/);
  } finally {
    server.close();
    t.remove();
  }
});
