/**
 * The protocol-buffer wire primitives the Prometheus protobuf exposition needs (varints,
 * little-endian doubles, length-delimited bytes), written into a growing Buffer. Why not
 * protobufjs or a generated codec: bizmon writes five message types and never reads any, and
 * a generic codec would build a message object per series on every scrape (see protobuf.ts).
 */

/** Wire type of a varint field. */
export const WIRE_VARINT = 0;
/** Wire type of a 64-bit (double) field. */
export const WIRE_I64 = 1;
/** Wire type of a length-delimited field (string, bytes, embedded message). */
export const WIRE_LEN = 2;

/** The first byte of a field: its number and wire type (every field bizmon writes is < 16). */
export function tag(field: number, wire: number): number {
  return (field << 3) | wire;
}

/** Bytes a non-negative integer (up to 2^53) takes as a varint. */
export function varintSize(value: number): number {
  let size = 1;
  while (value >= 128) {
    value = Math.floor(value / 128);
    size++;
  }
  return size;
}

/** Bytes a length-delimited field of `length` bytes takes, tag included. */
export function delimitedSize(length: number): number {
  return 1 + varintSize(length) + length;
}

/** An append-only byte buffer that grows by doubling. */
export class ProtoWriter {
  private buf: Buffer;
  private pos = 0;

  constructor(initialSize = 4096) {
    this.buf = Buffer.allocUnsafe(initialSize);
  }

  /** Bytes written so far. */
  get length(): number {
    return this.pos;
  }

  private reserve(bytes: number): void {
    if (this.pos + bytes <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + bytes) size *= 2;
    const bigger = Buffer.allocUnsafe(size);
    this.buf.copy(bigger, 0, 0, this.pos);
    this.buf = bigger;
  }

  byte(value: number): void {
    this.reserve(1);
    this.buf[this.pos++] = value;
  }

  /** A non-negative integer up to 2^53 (uint64 and int64 fields, lengths). */
  varint(value: number): void {
    this.reserve(8);
    const buf = this.buf;
    // Above 2^31 bit operations would truncate, so divide instead.
    while (value >= 128) {
      buf[this.pos++] = (value % 128) | 128;
      value = Math.floor(value / 128);
    }
    buf[this.pos++] = value;
  }

  /** A little-endian IEEE 754 double. */
  double(value: number): void {
    this.reserve(8);
    this.buf.writeDoubleLE(value, this.pos);
    this.pos += 8;
  }

  /**
   * Bytes held as a string of one char per byte (see binaryString): a one-byte string takes a
   * third of the memory of a small Uint8Array, and is copied into the buffer by one native call.
   */
  binary(bytes: string): void {
    this.reserve(bytes.length);
    this.pos += this.buf.write(bytes, this.pos, 'latin1');
  }

  /** `template` (as for binary()) with its last 8 bytes replaced by `value` as a double. */
  binaryEndingInDouble(template: string, value: number): void {
    this.binary(template);
    this.buf.writeDoubleLE(value, this.pos - 8);
  }

  /** A string field: tag, UTF-8 length, UTF-8 bytes. */
  stringField(field: number, value: string): void {
    const length = Buffer.byteLength(value);
    this.byte(tag(field, WIRE_LEN));
    this.varint(length);
    this.reserve(length);
    this.pos += this.buf.write(value, this.pos, 'utf8');
  }

  /** A double field: tag and value. */
  doubleField(field: number, value: number): void {
    this.byte(tag(field, WIRE_I64));
    this.double(value);
  }

  /** A varint field: tag and value. */
  varintField(field: number, value: number): void {
    this.byte(tag(field, WIRE_VARINT));
    this.varint(value);
  }

  /** The tag and length of an embedded message whose `length` bytes follow. */
  messageHeader(field: number, length: number): void {
    this.byte(tag(field, WIRE_LEN));
    this.varint(length);
  }

  /** Leaves `bytes` unwritten at the front, for a prefix known only at the end (see finishAfter). */
  skip(bytes: number): void {
    this.reserve(bytes);
    this.pos += bytes;
  }

  /**
   * Everything written after the first `skipped` bytes, with `prefix` (at most `skipped` bytes)
   * copied in right before it: a length-prefixed message without copying its body.
   */
  finishAfter(skipped: number, prefix: Uint8Array): Buffer {
    const start = skipped - prefix.length;
    this.buf.set(prefix, start);
    return this.buf.subarray(start, this.pos);
  }

  /** Everything written, as a string of one char per byte (for binary()). */
  binaryString(): string {
    return this.buf.toString('latin1', 0, this.pos);
  }

  /** Everything written, as a Buffer of its own (the writer is not used afterwards). */
  finish(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}
