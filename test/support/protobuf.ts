/**
 * Test support: a minimal protobuf reader, so tests decode what bizmon's protobuf exposition
 * writes without sharing a line of its encoder. A message reads as its fields, each a
 * [field number, value] pair: a varint as a number, a 64-bit field as a double, a
 * length-delimited field as its bytes.
 */

export type Field = [number, number | Buffer];

function readVarint(buf: Buffer, pos: { at: number }): number {
  let value = 0;
  let scale = 1;
  for (;;) {
    const byte = buf[pos.at++]!;
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) return value;
    scale *= 128;
  }
}

/** The fields of one message, in wire order. */
export function fields(buf: Buffer): Field[] {
  const out: Field[] = [];
  const pos = { at: 0 };
  while (pos.at < buf.length) {
    const key = readVarint(buf, pos);
    const wire = key & 7;
    const field = key >>> 3;
    if (wire === 0) out.push([field, readVarint(buf, pos)]);
    else if (wire === 1) {
      out.push([field, buf.readDoubleLE(pos.at)]);
      pos.at += 8;
    } else if (wire === 2) {
      const length = readVarint(buf, pos);
      out.push([field, buf.subarray(pos.at, pos.at + length)]);
      pos.at += length;
    } else throw new Error(`unexpected wire type ${wire}`);
  }
  return out;
}

/** The first value of field `n`. */
export const get = (f: Field[], n: number): Field[1] | undefined => f.find(([k]) => k === n)?.[1];
/** Every value of field `n` (a repeated field). */
export const all = (f: Field[], n: number): Field[1][] =>
  f.filter(([k]) => k === n).map(([, v]) => v);
/** A length-delimited value as UTF-8 text. */
export const str = (v: Field[1] | undefined): string => (v as Buffer).toString('utf8');

/** Splits a varint-delimited stream into its messages. */
export function delimited(buf: Buffer): Buffer[] {
  const out: Buffer[] = [];
  const pos = { at: 0 };
  while (pos.at < buf.length) {
    const length = readVarint(buf, pos);
    out.push(buf.subarray(pos.at, pos.at + length));
    pos.at += length;
  }
  return out;
}
