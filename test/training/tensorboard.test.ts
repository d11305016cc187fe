import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { hostname } from "node:os";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import {
  FLUSH_EVERY,
  TensorBoardWriter,
  crc32c,
  encodeEvent,
  frameRecord,
  maskedCrc,
} from "../../training/tensorboard.js";
import { tempDir } from "../helpers/tmp.js";

const tmpRoot = tempDir("tb-test-");
let dirCounter = 0;
const freshDir = () => join(tmpRoot, `run${dirCounter++}`, "nested");

// --- independent decoders: deliberately share no code with the module under test ---

// Bit-at-a-time CRC-32C, so the table-driven implementation is checked against a different algorithm.
function slowCrc32c(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (const b of data) {
    crc ^= b;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

function unmask(masked: number): number {
  const rot = (masked - 0xa282ead8) >>> 0;
  return ((rot >>> 17) | (rot << 15)) >>> 0;
}

function readRecords(file: Uint8Array): Uint8Array[] {
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const records: Uint8Array[] = [];
  let pos = 0;
  while (pos < file.length) {
    const len = Number(view.getBigUint64(pos, true));
    expect(unmask(view.getUint32(pos + 8, true))).toBe(slowCrc32c(file.subarray(pos, pos + 8)));
    const data = file.subarray(pos + 12, pos + 12 + len);
    expect(data.length).toBe(len);
    expect(unmask(view.getUint32(pos + 12 + len, true))).toBe(slowCrc32c(data));
    records.push(data);
    pos += 16 + len;
  }
  expect(pos).toBe(file.length);
  return records;
}

type Field = { field: number; wire: number; value: bigint | Uint8Array };

function readProto(buf: Uint8Array): Field[] {
  let pos = 0;
  const readVarint = (): bigint => {
    let result = 0n;
    for (let shift = 0n; ; shift += 7n) {
      const b = buf[pos++];
      if (b === undefined) throw new Error("truncated varint");
      result |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return result;
    }
  };
  const take = (n: number) => {
    if (pos + n > buf.length) throw new Error("truncated field");
    return buf.subarray(pos, (pos += n));
  };
  const fields: Field[] = [];
  while (pos < buf.length) {
    const k = Number(readVarint());
    const field = k >>> 3;
    const wire = k & 7;
    if (wire === 0) fields.push({ field, wire, value: readVarint() });
    else if (wire === 1) fields.push({ field, wire, value: take(8) });
    else if (wire === 2) fields.push({ field, wire, value: take(Number(readVarint())) });
    else if (wire === 5) fields.push({ field, wire, value: take(4) });
    else throw new Error(`unexpected wire type ${wire}`);
  }
  return fields;
}

const bytesOf = (f: Field) => f.value as Uint8Array;
const dv = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);

interface DecodedEvent {
  wallTime?: number;
  step?: bigint;
  fileVersion?: string;
  values: { tag: string; simpleValue: number }[];
}

function decodeEvent(buf: Uint8Array): DecodedEvent {
  const ev: DecodedEvent = { values: [] };
  for (const f of readProto(buf)) {
    if (f.field === 1 && f.wire === 1) ev.wallTime = dv(bytesOf(f)).getFloat64(0, true);
    else if (f.field === 2 && f.wire === 0) ev.step = BigInt.asIntN(64, f.value as bigint);
    else if (f.field === 3 && f.wire === 2) ev.fileVersion = new TextDecoder().decode(bytesOf(f));
    else if (f.field === 5 && f.wire === 2) {
      for (const sv of readProto(bytesOf(f))) {
        expect([sv.field, sv.wire]).toEqual([1, 2]);
        const value = { tag: "", simpleValue: NaN };
        for (const vf of readProto(bytesOf(sv))) {
          if (vf.field === 1 && vf.wire === 2) value.tag = new TextDecoder().decode(bytesOf(vf));
          else if (vf.field === 2 && vf.wire === 5) value.simpleValue = dv(bytesOf(vf)).getFloat32(0, true);
          else throw new Error(`unexpected Summary.Value field ${vf.field}/${vf.wire}`);
        }
        ev.values.push(value);
      }
    } else throw new Error(`unexpected Event field ${f.field}/${f.wire}`);
  }
  return ev;
}

const readEvents = (path: string) => readRecords(readFileSync(path)).map(decodeEvent);

// --- tests ---

describe("crc32c", () => {
  it("matches the standard CRC-32C check values", () => {
    expect(crc32c("123456789")).toBe(0xe3069283);
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
    expect(crc32c(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i))).toBe(0x46dd794e);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i))).toBe(0x113fdb5c);
    expect(crc32c(new Uint8Array(0))).toBe(0);
  });

  it("agrees with a bitwise implementation on arbitrary data", () => {
    const data = Uint8Array.from({ length: 1000 }, (_, i) => (i * 7919 + 13) & 0xff);
    for (const n of [1, 3, 17, 255, 1000]) expect(crc32c(data.subarray(0, n))).toBe(slowCrc32c(data.subarray(0, n)));
  });

  it("masks as TFRecord does", () => {
    expect(maskedCrc(new Uint8Array(0))).toBe(0xa282ead8);
    // Reference value from tensorboard's own masked_crc32c(b"123456789").
    expect(maskedCrc(new TextEncoder().encode("123456789"))).toBe(0xc78ab0e5);
    expect(unmask(maskedCrc(new Uint8Array([1, 2, 3])))).toBe(crc32c(new Uint8Array([1, 2, 3])));
  });
});

describe("encoding", () => {
  it("frames a record with length and masked CRCs", () => {
    const data = new TextEncoder().encode("hello");
    const rec = frameRecord(data);
    expect(rec.length).toBe(8 + 4 + 5 + 4);
    expect(Array.from(rec.subarray(0, 8))).toEqual([5, 0, 0, 0, 0, 0, 0, 0]);
    expect(readRecords(rec)).toEqual([data]);
  });

  it("encodes a scalar Event with the exact protobuf bytes", () => {
    const bytes = encodeEvent({ wallTime: 1.5, step: 300, scalars: [{ tag: "a", value: 1 }] });
    // prettier-ignore
    expect(Array.from(bytes)).toEqual([
      0x09, ...[0, 0, 0, 0, 0, 0, 0xf8, 0x3f], // field 1, fixed64: 1.5
      0x10, 0xac, 0x02, // field 2, varint: 300
      0x2a, 0x0a, // field 5, length 10
      0x0a, 0x08, // Summary.value (field 1), length 8
      0x0a, 0x01, 0x61, // Value.tag = "a"
      0x15, ...[0, 0, 0x80, 0x3f], // Value.simple_value = 1.0f
    ]);
  });

  it("round-trips edge cases through the independent decoder", () => {
    const tag = "loss/ü → 📉";
    const ev = decodeEvent(encodeEvent({ wallTime: 1.7e9 + 0.123, step: -1, scalars: [{ tag, value: 0.1 }] }));
    expect(ev).toEqual({ wallTime: 1.7e9 + 0.123, step: -1n, values: [{ tag, simpleValue: Math.fround(0.1) }] });
    expect(decodeEvent(encodeEvent({ wallTime: 0, step: 2 ** 40 })).step).toBe(2n ** 40n);
    const nan = decodeEvent(encodeEvent({ wallTime: 0, step: 0, scalars: [{ tag: "n", value: NaN }] }));
    expect(nan.values[0]!.simpleValue).toBeNaN();
  });
});

describe("TensorBoardWriter", () => {
  it("names the file after the clock and host, creating the directory", () => {
    const dir = freshDir();
    const w = new TensorBoardWriter(dir, { now: () => 1_700_000_000_999, filenameSuffix: ".v2" });
    expect(w.path).toBe(join(dir, `events.out.tfevents.1700000000.${hostname()}.v2`));
    expect(readdirSync(dir)).toEqual([basename(w.path)]);
    w.close();
  });

  it("writes the file_version event first, then one event per scalar", () => {
    let t = 1_700_000_000_000;
    const w = new TensorBoardWriter(freshDir(), { now: () => (t += 250) });
    w.scalar("loss", 0.5, 0);
    w.scalar("loss", 0.25, 1, 42.5);
    w.scalar("reward", -3, 7);
    w.close();
    expect(readEvents(w.path)).toEqual([
      { wallTime: 1_700_000_000.5, fileVersion: "brain.Event:2", values: [] },
      { wallTime: 1_700_000_000.75, step: 0n, values: [{ tag: "loss", simpleValue: 0.5 }] },
      { wallTime: 42.5, step: 1n, values: [{ tag: "loss", simpleValue: 0.25 }] },
      { wallTime: 1_700_000_001, step: 7n, values: [{ tag: "reward", simpleValue: -3 }] },
    ]);
  });

  it("buffers scalars until flush(), close() or FLUSH_EVERY records", () => {
    const w = new TensorBoardWriter(freshDir());
    const headerSize = statSync(w.path).size;
    expect(readEvents(w.path)).toHaveLength(1);
    w.scalar("x", 1, 1);
    expect(statSync(w.path).size).toBe(headerSize);
    w.flush();
    expect(readEvents(w.path)).toHaveLength(2);
    for (let i = 0; i < FLUSH_EVERY; i++) w.scalar("x", i, i + 2);
    expect(readEvents(w.path)).toHaveLength(2 + FLUSH_EVERY);
    w.scalar("x", 0, 99);
    w.close();
    w.close();
    expect(readEvents(w.path)).toHaveLength(3 + FLUSH_EVERY);
    expect(() => w.scalar("x", 0, 100)).toThrow(/closed/);
  });

  it("rejects non-integer steps", () => {
    const w = new TensorBoardWriter(freshDir());
    expect(() => w.scalar("x", 1, 1.5)).toThrow(RangeError);
    w.close();
  });
});

// --- cross-check with TensorBoard's own reader, when a Python with tensorboard is around ---

function findTensorboardPython(): { python?: string; missing?: string } {
  const venv = fileURLToPath(new URL("../../.venv/bin/python", import.meta.url));
  const python = existsSync(venv) ? venv : "python3";
  const probe = spawnSync(python, ["-c", "import tensorboard.backend.event_processing.event_accumulator"], {
    encoding: "utf8",
    timeout: 60_000,
  });
  if (probe.error) return { missing: `${python} could not be run (${probe.error.message})` };
  if (probe.status !== 0) return { missing: `the Python package "tensorboard" is not importable from ${python}` };
  return { python };
}

const tb = findTensorboardPython();
if (tb.missing) {
  console.warn(
    `skipping TensorBoard reader check: ${tb.missing}. Install it with: ` +
      ".venv/bin/pip install --index-url file:///opt/pypi/simple --extra-index-url file:///opt/pypi-more/simple " +
      "--find-links /opt/wheels tensorboard",
  );
}

const READ_WITH_TENSORBOARD = `
import json, sys
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
acc = EventAccumulator(sys.argv[1], size_guidance={"scalars": 0})
acc.Reload()
tags = sorted(acc.Tags()["scalars"])
scalars = {t: [[e.wall_time, e.step, e.value] for e in acc.Scalars(t)] for t in tags}
print(json.dumps({"file_version": acc.file_version, "tags": tags, "scalars": scalars}))
`;

describe("TensorBoard reader", () => {
  it.skipIf(tb.missing !== undefined)("reads back the tags, steps and values", () => {
    const dir = freshDir();
    const w = new TensorBoardWriter(dir, { filenameSuffix: ".test" });
    const expected: Record<string, [number, number, number][]> = { "train/loss": [], "eval/reward": [] };
    for (let step = 0; step < 120; step++) {
      const wall = 1_700_000_000 + step * 0.5;
      w.scalar("train/loss", 1 / (step + 1), step, wall);
      expected["train/loss"]!.push([wall, step, Math.fround(1 / (step + 1))]);
      if (step % 10 === 0) {
        w.scalar("eval/reward", -step * 1.5, 1_000_000 + step, wall);
        expected["eval/reward"]!.push([wall, 1_000_000 + step, Math.fround(-step * 1.5)]);
      }
    }
    w.close();

    const run = spawnSync(tb.python!, ["-c", READ_WITH_TENSORBOARD, dirname(w.path)], {
      encoding: "utf8",
      timeout: 60_000,
    });
    expect(run.status, run.stderr).toBe(0);
    const got = JSON.parse(run.stdout.trim().split("\n").at(-1)!);
    expect(got.file_version).toBe(2);
    expect(got.tags).toEqual(["eval/reward", "train/loss"]);
    expect(got.scalars).toEqual(expected);
  });
});
