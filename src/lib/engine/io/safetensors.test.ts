import { describe, expect, it } from 'vitest';
import { decodeSafetensors, encodeSafetensors, SafetensorsError } from './safetensors';

/** A file with the given header object and data bytes, laid out by hand as the spec says. */
function handMade(header: unknown, data: Uint8Array = new Uint8Array(0), headerLength?: number): Uint8Array {
  const json = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLength ?? json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

describe('safetensors', () => {
  it('round-trips F32, F64, I32 and U8 tensors with metadata', () => {
    const tensors = {
      'weight/conv_1/kernel': { dtype: 'F32' as const, shape: [2, 3], data: Float32Array.from([1.5, -2, 0, 3.25, -0, 1e-30]) },
      counts: { dtype: 'I32' as const, shape: [2], data: Int32Array.from([-7, 2 ** 31 - 1]) },
      precise: { dtype: 'F64' as const, shape: [1], data: Float64Array.from([Math.PI]) },
      'mask/conv_1': { dtype: 'U8' as const, shape: [3], data: Uint8Array.from([1, 0, 1]) },
      empty: { dtype: 'F32' as const, shape: [0, 4], data: new Float32Array(0) },
    };
    const bytes = encodeSafetensors(tensors, { arch: 'conv-2', sparsity: '0.5' });
    const decoded = decodeSafetensors(bytes);
    expect(decoded.metadata).toEqual({ arch: 'conv-2', sparsity: '0.5' });
    expect(decoded.tensors).toEqual(tensors);
  });

  it('writes the layout of the spec: u64 LE header length, space-padded JSON, data 8-byte aligned', () => {
    const bytes = encodeSafetensors({ x: { dtype: 'F32', shape: [1], data: Float32Array.from([1]) } });
    const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect((8 + headerLength) % 8).toBe(0);
    const header = new TextDecoder().decode(bytes.subarray(8, 8 + headerLength));
    expect(header.trimEnd()).toBe('{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}');
    expect(header.slice(header.trimEnd().length)).toMatch(/^ *$/);
    // 1.0f little-endian
    expect([...bytes.subarray(8 + headerLength)]).toEqual([0, 0, 0x80, 0x3f]);
  });

  it('reads a file written by another tool (offsets out of name order, no metadata)', () => {
    const data = new Uint8Array(8);
    new DataView(data.buffer).setFloat32(0, 2, true);
    data.set([7, 8, 9, 1], 4);
    const file = handMade(
      { b: { dtype: 'U8', shape: [4], data_offsets: [4, 8] }, a: { dtype: 'F32', shape: [], data_offsets: [0, 4] } },
      data,
    );
    const decoded = decodeSafetensors(file);
    expect(decoded.metadata).toEqual({});
    expect(decoded.tensors.a).toEqual({ dtype: 'F32', shape: [], data: Float32Array.from([2]) });
    expect([...decoded.tensors.b.data]).toEqual([7, 8, 9, 1]);
  });

  it('keeps a tensor named __proto__ a tensor, both ways', () => {
    const tensor = { dtype: 'U8' as const, shape: [1], data: Uint8Array.from([1]) };
    const decoded = decodeSafetensors(encodeSafetensors(Object.fromEntries([['__proto__', tensor]])));
    expect(Object.keys(decoded.tensors)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(decoded.tensors)).toBe(null);
    const byHand = decodeSafetensors(handMade('{"__proto__": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]}}', Uint8Array.from([1])));
    expect(Object.keys(byHand.tensors)).toEqual(['__proto__']);
  });

  const f32 = (begin: number, end: number, shape = [1]) => ({ dtype: 'F32', shape, data_offsets: [begin, end] });
  const malformed: [string, Uint8Array, RegExp][] = [
    ['too short', new Uint8Array(5), /file too short: 5 bytes/],
    ['header length beyond the file', handMade({}, new Uint8Array(0), 1000), /header length 1000 runs past the end of the file/],
    ['bad JSON', handMade('{"x": '), /header is not valid UTF-8 JSON/],
    ['a header that is not an object', handMade([1, 2]), /header must be a JSON object/],
    ['unknown dtype', handMade({ x: { dtype: 'Q7', shape: [1], data_offsets: [0, 1] } }, new Uint8Array(1)), /tensor "x": unknown dtype "Q7"/],
    ['offsets out of range', handMade({ x: f32(0, 8, [2]) }, new Uint8Array(4)), /tensor "x": data_offsets \[0, 8\] are out of range \(the data is 4 bytes\)/],
    ['reversed offsets', handMade({ x: f32(4, 0) }, new Uint8Array(4)), /tensor "x": data_offsets \[4, 0\] are out of range/],
    ['size mismatch', handMade({ x: f32(0, 8, [3]) }, new Uint8Array(8)), /tensor "x": size mismatch: shape \[3\] of F32 needs 12 bytes, data_offsets cover 8/],
    ['overlapping tensors', handMade({ x: f32(0, 4), y: f32(2, 6) }, new Uint8Array(6)), /tensors "x" and "y" overlap/],
    ['a hole in the data', handMade({ x: f32(0, 4), y: f32(8, 12) }, new Uint8Array(12)), /bytes 4 to 8 of the data belong to no tensor/],
    ['trailing bytes', handMade({ x: f32(0, 4) }, new Uint8Array(6)), /the last 2 bytes of the data belong to no tensor/],
    ['a bad shape', handMade({ x: { dtype: 'F32', shape: [-1], data_offsets: [0, 0] } }), /tensor "x": shape must be a list of non-negative integers/],
    ['metadata that is not strings', handMade({ __metadata__: { round: 3 } }), /"__metadata__" value "round" must be a string/],
  ];
  for (const [what, bytes, message] of malformed) {
    it(`rejects ${what} with a message saying so`, () => {
      expect(() => decodeSafetensors(bytes)).toThrow(SafetensorsError);
      expect(() => decodeSafetensors(bytes)).toThrow(message);
    });
  }

  it('reads U8 tensors from a Node Buffer as copies, whose slices do not write through to the file', () => {
    const bytes = Buffer.from(encodeSafetensors({ keep: { dtype: 'U8', shape: [4], data: Uint8Array.from([1, 0, 1, 0]) } }));
    const keep = decodeSafetensors(bytes).tensors.keep.data as Uint8Array;
    const copy = keep.slice();
    copy.fill(7);
    expect([...keep]).toEqual([1, 0, 1, 0]);
    expect([...decodeSafetensors(bytes).tensors.keep.data]).toEqual([1, 0, 1, 0]);
  });

  it('refuses to write a tensor whose values do not match its shape', () => {
    expect(() => encodeSafetensors({ x: { dtype: 'F32', shape: [2, 2], data: new Float32Array(3) } })).toThrow(
      /tensor "x": shape \[2, 2\] needs 4 values, got 3/,
    );
  });
});
