/**
 * The safetensors file format (Hugging Face), written from its specification:
 *
 *   8 bytes   N, the header's length, unsigned 64-bit little-endian
 *   N bytes   a UTF-8 JSON object: for each tensor name
 *             {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]},
 *             plus an optional "__metadata__" of string -> string;
 *             padded with spaces so the data starts 8-byte aligned
 *   the rest  every tensor's values, little-endian, row-major, at its
 *             offsets (counted from the end of the header), no gaps
 *
 * It holds plain arrays and a small JSON header, so NumPy, PyTorch and
 * JAX users read it without our code (docs/tickets.md).
 */

/** Element types this reader and writer handle, with their typed arrays. */
const DTYPES = {
  F32: { bytes: 4, array: Float32Array },
  F64: { bytes: 8, array: Float64Array },
  I32: { bytes: 4, array: Int32Array },
  U8: { bytes: 1, array: Uint8Array },
} as const;

export type SafetensorsDtype = keyof typeof DTYPES;

export type SafetensorsData = Float32Array | Float64Array | Int32Array | Uint8Array;

export interface SafetensorsTensor {
  dtype: SafetensorsDtype;
  shape: number[];
  data: SafetensorsData;
}

export interface SafetensorsFile {
  /**
   * By name, in an object without a prototype: names come from the file, and
   * a tensor named `__proto__` must stay a tensor, not become the prototype.
   */
  tensors: Record<string, SafetensorsTensor>;
  metadata: Record<string, string>;
}

/** A file that is not valid safetensors, or a tensor that cannot be written as one. */
export class SafetensorsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SafetensorsError';
  }
}

const METADATA_KEY = '__metadata__';
const HEADER_LENGTH_BYTES = 8;
const ALIGNMENT = 8;

function elementCount(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function isDtype(dtype: unknown): dtype is SafetensorsDtype {
  return typeof dtype === 'string' && Object.hasOwn(DTYPES, dtype);
}

/** Little-endian bytes of `data`, whatever the host's byte order. */
function littleEndianBytes(dtype: SafetensorsDtype, data: SafetensorsData): Uint8Array {
  if (dtype === 'U8') return data as Uint8Array;
  const out = new Uint8Array(data.length * DTYPES[dtype].bytes);
  const view = new DataView(out.buffer);
  for (let i = 0; i < data.length; i++) {
    if (dtype === 'F32') view.setFloat32(i * 4, data[i], true);
    else if (dtype === 'F64') view.setFloat64(i * 8, data[i], true);
    else view.setInt32(i * 4, data[i], true);
  }
  return out;
}

/** Values of `dtype` from little-endian `bytes`, into a fresh typed array. */
function fromLittleEndian(dtype: SafetensorsDtype, bytes: Uint8Array): SafetensorsData {
  // A copy, never a view: `slice` of a Node Buffer (what readFile gives) shares its memory.
  if (dtype === 'U8') return new Uint8Array(bytes);
  const size = DTYPES[dtype].bytes;
  const out = new DTYPES[dtype].array(bytes.length / size);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < out.length; i++) {
    if (dtype === 'F32') out[i] = view.getFloat32(i * 4, true);
    else if (dtype === 'F64') out[i] = view.getFloat64(i * 8, true);
    else out[i] = view.getInt32(i * 4, true);
  }
  return out;
}

export function encodeSafetensors(tensors: Record<string, SafetensorsTensor>, metadata: Record<string, string> = {}): Uint8Array {
  // Without a prototype, so a tensor named `__proto__` is written as one.
  const header: Record<string, unknown> = Object.create(null);
  if (Object.keys(metadata).length > 0) header[METADATA_KEY] = metadata;
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const [name, tensor] of Object.entries(tensors)) {
    if (name === METADATA_KEY) throw new SafetensorsError(`"${METADATA_KEY}" is reserved for the metadata, not a tensor name`);
    if (!isDtype(tensor.dtype)) throw new SafetensorsError(`tensor "${name}": dtype "${String(tensor.dtype)}" is not supported`);
    const expected = elementCount(tensor.shape);
    if (tensor.data.length !== expected) {
      throw new SafetensorsError(`tensor "${name}": shape [${tensor.shape.join(', ')}] needs ${expected} values, got ${tensor.data.length}`);
    }
    const bytes = littleEndianBytes(tensor.dtype, tensor.data);
    header[name] = { dtype: tensor.dtype, shape: tensor.shape, data_offsets: [offset, offset + bytes.length] };
    chunks.push(bytes);
    offset += bytes.length;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const headerLength = Math.ceil((HEADER_LENGTH_BYTES + json.length) / ALIGNMENT) * ALIGNMENT - HEADER_LENGTH_BYTES;
  const out = new Uint8Array(HEADER_LENGTH_BYTES + headerLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLength), true);
  out.set(json, HEADER_LENGTH_BYTES);
  out.fill(0x20, HEADER_LENGTH_BYTES + json.length, HEADER_LENGTH_BYTES + headerLength);
  let position = HEADER_LENGTH_BYTES + headerLength;
  for (const chunk of chunks) {
    out.set(chunk, position);
    position += chunk.length;
  }
  return out;
}

interface HeaderEntry {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  begin: number;
  end: number;
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/** One header entry checked on its own: known dtype, shape and offsets that agree and lie inside the data. */
function headerEntry(name: string, value: unknown, dataLength: number): HeaderEntry {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new SafetensorsError(`tensor "${name}": header entry must be an object with dtype, shape and data_offsets`);
  }
  const { dtype, shape, data_offsets: offsets } = value as Record<string, unknown>;
  if (!isDtype(dtype)) {
    throw new SafetensorsError(`tensor "${name}": unknown dtype ${JSON.stringify(dtype)} (supported: ${Object.keys(DTYPES).join(', ')})`);
  }
  if (!Array.isArray(shape) || !shape.every(isCount)) {
    throw new SafetensorsError(`tensor "${name}": shape must be a list of non-negative integers, got ${JSON.stringify(shape)}`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount)) {
    throw new SafetensorsError(`tensor "${name}": data_offsets must be [begin, end], got ${JSON.stringify(offsets)}`);
  }
  const [begin, end] = offsets as number[];
  if (begin > end || end > dataLength) {
    throw new SafetensorsError(`tensor "${name}": data_offsets [${begin}, ${end}] are out of range (the data is ${dataLength} bytes)`);
  }
  const needed = elementCount(shape) * DTYPES[dtype].bytes;
  if (end - begin !== needed) {
    throw new SafetensorsError(
      `tensor "${name}": size mismatch: shape [${shape.join(', ')}] of ${dtype} needs ${needed} bytes, data_offsets cover ${end - begin}`,
    );
  }
  return { name, dtype, shape, begin, end };
}

function parseMetadata(value: unknown): Record<string, string> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new SafetensorsError(`"${METADATA_KEY}" must be an object of strings`);
  }
  const metadata: Record<string, string> = Object.create(null);
  for (const [key, entry] of Object.entries(value)) {
    if (typeof entry !== 'string') throw new SafetensorsError(`"${METADATA_KEY}" value "${key}" must be a string, got ${JSON.stringify(entry)}`);
    metadata[key] = entry;
  }
  return metadata;
}

/** Reads a whole file; throws SafetensorsError saying what is wrong with a malformed one. */
export function decodeSafetensors(bytes: Uint8Array): SafetensorsFile {
  if (bytes.length < HEADER_LENGTH_BYTES) {
    throw new SafetensorsError(`file too short: ${bytes.length} bytes, a safetensors file starts with an 8-byte header length`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getBigUint64(0, true);
  if (headerLength > BigInt(bytes.length - HEADER_LENGTH_BYTES)) {
    throw new SafetensorsError(`header length ${headerLength} runs past the end of the file (${bytes.length} bytes)`);
  }
  const dataStart = HEADER_LENGTH_BYTES + Number(headerLength);
  let header: unknown;
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(HEADER_LENGTH_BYTES, dataStart));
    header = JSON.parse(text);
  } catch (error) {
    throw new SafetensorsError(`header is not valid UTF-8 JSON: ${(error as Error).message}`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    throw new SafetensorsError('header must be a JSON object of tensor names');
  }
  const dataLength = bytes.length - dataStart;
  const metadata = parseMetadata((header as Record<string, unknown>)[METADATA_KEY]);
  const sorted = Object.entries(header)
    .filter(([name]) => name !== METADATA_KEY)
    .map(([name, value]) => headerEntry(name, value, dataLength))
    .sort((a, b) => a.begin - b.begin || a.end - b.end);
  // The data must be covered exactly once: no overlaps, no holes, nothing after the last tensor.
  let covered = 0;
  let previous: HeaderEntry | null = null;
  for (const entry of sorted) {
    if (entry.begin < covered) {
      throw new SafetensorsError(`tensors "${previous!.name}" and "${entry.name}" overlap (bytes ${entry.begin} to ${covered})`);
    }
    if (entry.begin > covered) throw new SafetensorsError(`bytes ${covered} to ${entry.begin} of the data belong to no tensor`);
    covered = entry.end;
    previous = entry;
  }
  if (covered !== dataLength) throw new SafetensorsError(`the last ${dataLength - covered} bytes of the data belong to no tensor`);

  const tensors: Record<string, SafetensorsTensor> = Object.create(null);
  for (const entry of sorted) {
    const raw = bytes.subarray(dataStart + entry.begin, dataStart + entry.end);
    tensors[entry.name] = { dtype: entry.dtype, shape: entry.shape, data: fromLittleEndian(entry.dtype, raw) };
  }
  return { tensors, metadata };
}
