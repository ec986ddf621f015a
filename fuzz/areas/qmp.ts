// QMP as QEMU answers it (harness/machine/qmp.ts): the bytes of a real QEMU 7.2 session, line by line and in
// chunks that split lines and UTF-8 sequences, through QmpParser and the QmpClient that the harness drives
// QEMU with — greeting, capabilities, commands matched to replies by id, errors, events. A reply that is
// JSON but not the shape QEMU sends must not throw out of the socket's data handler.

import type { Area } from "../area.ts";
import type { Socket } from "node:net";
import { EventEmitter } from "node:events";
import { setImmediate } from "node:timers";
import { dataFile } from "../captures.ts";
import { BYTE_MUTATORS } from "../mutators/bytes.ts";
import { jsonMutators } from "../mutators/json.ts";
import { recordMutators } from "../mutators/records.ts";
import { textMutators } from "../mutators/text.ts";
import { decodeRecords, encodeRecords } from "../records.ts";
import { QmpClient, QmpParser } from "../../harness/machine/qmp.ts";
import { BootlabFailure } from "../../harness/errors/failures.ts";

const turn = () => new Promise<void>((r) => setImmediate(r));
const COMMANDS = ["query-status", "stop", "query-status", "no-such-command", "cont", "system_reset", "quit"];

const WORDS = [
  "QMP", "version", "qemu", "major", "minor", "micro", "package", "capabilities", "oob", "return", "error", "class", "desc", "event", "data",
  "timestamp", "seconds", "microseconds", "id", "bl1", "bl2", "bl3", "bl8", "STOP", "RESUME", "RESET", "SHUTDOWN", "status", "running", "GenericError",
];

/** The part of a socket QmpClient uses: data, close and error events in; writes and destroy out. */
class FakeSocket extends EventEmitter {
  readonly writes: string[] = [];
  destroyed = false;
  write(s: string): boolean {
    this.writes.push(s);
    return true;
  }
  destroy(): void {
    this.destroyed = true;
  }
}

export function qmpArea(): Area {
  const lines = new TextDecoder().decode(dataFile("qmp-session-qemu-7.2.jsonl")).split("\n").filter(Boolean).map((l) => new TextEncoder().encode(l + "\n"));
  const whole = lines.reduce((a, b) => new Uint8Array([...a, ...b]), new Uint8Array(0));
  const seeds = [
    encodeRecords(lines),
    encodeRecords([whole.subarray(0, 7), whole.subarray(7, 150), whole.subarray(150, 151), ...lines.slice(1)]),
    encodeRecords([lines[0]!, lines[1]!, lines[3]!, lines[9]!]),
    encodeRecords([lines[0]!]),
  ];
  return {
    name: "qmp",
    corpus: () => seeds,
    mutators: recordMutators({ inner: [...jsonMutators(WORDS), ...jsonMutators(WORDS), ...textMutators(WORDS), ...BYTE_MUTATORS], maxRecords: 32 }),
    maxBytes: 8192,
    expects: ["connected:answered", "connected:refused", "connected:unanswered", "unconnected"],
    async run(input) {
      const chunks = decodeRecords(input);
      // The parser alone, in one piece: what it returns must be what it promises.
      const parsed = new QmpParser().push(input);
      for (const m of parsed.messages) {
        if (typeof m !== "object" || m === null || !("QMP" in m || "return" in m || "error" in m || "event" in m)) throw new Error("QMP: the parser passed a message of no known kind");
      }
      const socket = new FakeSocket();
      let client: QmpClient | undefined;
      const failures: unknown[] = [];
      const connected = QmpClient.connect(socket as unknown as Socket, 60_000).then((c) => (client = c), (e) => void failures.push(e));
      let answered = 0, refused = 0, asked = false;
      for (const c of chunks) {
        socket.emit("data", Buffer.from(c));
        await turn();
        if (client && !asked) {
          asked = true;
          client.onEvent(() => {});
          for (const cmd of COMMANDS) client.execute(cmd, undefined, 60_000).then(() => answered++, (e) => (refused++, failures.push(e)));
        }
      }
      // What QEMU answered before the socket closed; the close rejects the rest.
      const before = { answered, refused };
      socket.emit("close");
      await connected;
      await turn();
      for (const e of failures) if (!(e instanceof BootlabFailure)) throw e;
      if (!client) return "unconnected:";
      return before.answered ? "connected:answered" : before.refused ? "connected:refused" : "connected:unanswered";
    },
  };
}
