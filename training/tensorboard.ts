// Minimal TensorBoard event-file writer. The format is hand-encoded (TFRecord framing around
// protobuf `Event` messages) so training code can log scalars without pulling in tfjs.
import { appendFileSync, mkdirSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";

/** Records are buffered in memory and appended once this many are pending (or on flush/close). */
export const FLUSH_EVERY = 50;

const CRC32C_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    table[n] = c;
  }
  return table;
})();

/** CRC-32C (Castagnoli), the checksum TFRecord uses — not the zlib CRC-32. */
export function crc32c(data: Uint8Array | string): number {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  let crc = 0xffffffff;
  for (const b of bytes) crc = CRC32C_TABLE[(crc ^ b) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/**
 * TFRecord stores CRCs "masked": a CRC computed over data that itself contains CRCs is weak,
 * so the stored value is rotated and offset.
 */
export function maskedCrc(data: Uint8Array): number {
  const crc = crc32c(data);
  return (((crc >>> 15) | (crc << 17)) + 0xa282ead8) >>> 0;
}

/** Wraps one serialized record: u64 length, masked CRC of the length, data, masked CRC of the data. */
export function frameRecord(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + 4 + data.length + 4);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(data.length), true);
  view.setUint32(8, maskedCrc(out.subarray(0, 8)), true);
  out.set(data, 12);
  view.setUint32(12 + data.length, maskedCrc(data), true);
  return out;
}

// --- protobuf encoding (only the wire types the Event schema needs) ---

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_BYTES = 2;
const WIRE_FIXED32 = 5;

// BigInt so int64 steps above 2^31 and negative steps (10-byte two's complement) encode correctly.
function varint(value: number | bigint): number[] {
  let v = BigInt.asUintN(64, BigInt(value));
  const out: number[] = [];
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return out;
}

const key = (field: number, wireType: number) => varint((field << 3) | wireType);

function bytesField(field: number, data: Uint8Array): number[] {
  return [...key(field, WIRE_BYTES), ...varint(data.length), ...data];
}

function doubleField(field: number, value: number): number[] {
  const b = new DataView(new ArrayBuffer(8));
  b.setFloat64(0, value, true);
  return [...key(field, WIRE_FIXED64), ...new Uint8Array(b.buffer)];
}

function floatField(field: number, value: number): number[] {
  const b = new DataView(new ArrayBuffer(4));
  b.setFloat32(0, value, true);
  return [...key(field, WIRE_FIXED32), ...new Uint8Array(b.buffer)];
}

export interface EventFields {
  /** Seconds since the Unix epoch (fractional). */
  wallTime: number;
  step?: number;
  fileVersion?: string;
  scalars?: { tag: string; value: number }[];
}

/** Serializes a tensorflow.Event protobuf (only the fields TensorBoard needs for scalars). */
export function encodeEvent(event: EventFields): Uint8Array {
  const utf8 = new TextEncoder();
  const out = doubleField(1, event.wallTime);
  if (event.step !== undefined) out.push(...key(2, WIRE_VARINT), ...varint(event.step));
  if (event.fileVersion !== undefined) out.push(...bytesField(3, utf8.encode(event.fileVersion)));
  if (event.scalars !== undefined) {
    const summary: number[] = [];
    for (const { tag, value } of event.scalars) {
      const v = [...bytesField(1, utf8.encode(tag)), ...floatField(2, value)];
      summary.push(...bytesField(1, Uint8Array.from(v)));
    }
    out.push(...bytesField(5, Uint8Array.from(summary)));
  }
  return Uint8Array.from(out);
}

export class TensorBoardWriter {
  readonly path: string;
  private readonly now: () => number;
  private pending: Uint8Array[] = [];
  private closed = false;

  /** `now` returns milliseconds since the epoch, like Date.now (injectable for tests). */
  constructor(logDir: string, opts: { filenameSuffix?: string; now?: () => number } = {}) {
    this.now = opts.now ?? Date.now;
    mkdirSync(logDir, { recursive: true });
    const seconds = Math.floor(this.now() / 1000);
    this.path = join(logDir, `events.out.tfevents.${seconds}.${hostname()}${opts.filenameSuffix ?? ""}`);
    // TensorBoard uses the version record to pick how to interpret the file; write it right away
    // so the file is valid (and discoverable) even before the first scalar is flushed.
    this.pending.push(frameRecord(encodeEvent({ wallTime: this.now() / 1000, fileVersion: "brain.Event:2" })));
    this.flush();
  }

  /** `wallTime` is in seconds (as in TensorFlow/PyTorch); defaults to the injected clock. */
  scalar(tag: string, value: number, step: number, wallTime?: number): void {
    if (this.closed) throw new Error(`TensorBoardWriter for ${this.path} is closed`);
    if (!Number.isSafeInteger(step)) throw new RangeError(`step must be a safe integer, got ${step}`);
    const event = encodeEvent({ wallTime: wallTime ?? this.now() / 1000, step, scalars: [{ tag, value }] });
    this.pending.push(frameRecord(event));
    if (this.pending.length >= FLUSH_EVERY) this.flush();
  }

  // appendFileSync rather than a kept descriptor: writes are batched so the reopen is cheap, and
  // a writer that is never closed cannot leak a file descriptor.
  flush(): void {
    if (this.pending.length === 0) return;
    appendFileSync(this.path, Buffer.concat(this.pending));
    this.pending = [];
  }

  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
  }
}
