/**
 * The ownership payload as a QR symbol (npm `qrcode` makes it, npm `jsqr`
 * reads it back). Error correction is always level H (about 30% of the
 * codewords recoverable), as in Chen et al.'s code.
 *
 * In the kernel map a dark module is a pruned kernel and a light module a
 * kernel that is on, the reference code's convention (its `True` = white =
 * connected).
 */
import QRCode from 'qrcode';
import jsQR from 'jsqr';

/** The largest version we try: 177x177 modules, far beyond any lab layer. */
const MAX_VERSION = 40;
/** Light modules around the symbol in a rendered bitmap, as the QR standard asks. */
export const QUIET_ZONE = 4;

export interface QrSymbol {
  text: string;
  version: number;
  /** Modules per side: 17 + 4 x version. */
  size: number;
  /** Row-major, 1 = dark module (a pruned kernel). */
  dark: Uint8Array;
  /** Row-major, 1 = a function module (finder, separator, timing, alignment, format, version, dark module); 0 = data or error correction. */
  fixed: Uint8Array;
}

function byteLength(text: string): number {
  return new TextEncoder().encode(text).length;
}

export function versionSize(version: number): number {
  return 17 + 4 * version;
}

/** A payload that no QR version (or not the one asked for) holds at level H. */
export class PayloadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PayloadError';
  }
}

/** The payload's symbol at level H: at `version`, or the smallest version that holds it. */
export function qrSymbol(text: string, version?: number): QrSymbol {
  if (text.length === 0) throw new PayloadError('The payload is empty: give the text to sign with');
  if (version !== undefined && (!Number.isInteger(version) || version < 1 || version > MAX_VERSION)) {
    throw new PayloadError(`QR version ${version} does not exist: versions are 1 to ${MAX_VERSION}`);
  }
  let code: QRCode.QRCode;
  try {
    code = QRCode.create(text, { errorCorrectionLevel: 'H', ...(version ? { version } : {}) });
  } catch {
    if (version === undefined) throw new PayloadError(`The payload (${byteLength(text)} bytes) is too long for any QR code at error correction H`);
    const needed = qrSymbol(text).version;
    throw new PayloadError(
      `The payload (${byteLength(text)} bytes) is too long for a QR code of version ${version} (${versionSize(version)}x${versionSize(version)} modules) at error correction H: it needs version ${needed} (${versionSize(needed)}x${versionSize(needed)})`,
    );
  }
  const size = code.modules.size;
  const dark = Uint8Array.from(code.modules.data, (bit) => (bit ? 1 : 0));
  const fixed = new Uint8Array(size * size);
  for (let r = 0; r < size; r++) for (let c = 0; c < size; c++) fixed[r * size + c] = code.modules.isReserved(r, c) ? 1 : 0;
  return { text, version: code.version, size, dark, fixed };
}

/**
 * An RGBA image of `dark` (size x size modules, 1 = dark) at `scale` pixels
 * per module inside a light quiet zone, as a scanner expects to see it.
 */
export function renderModules(dark: Uint8Array, size: number, scale = 4): { data: Uint8ClampedArray; width: number; height: number } {
  const side = (size + 2 * QUIET_ZONE) * scale;
  const data = new Uint8ClampedArray(side * side * 4).fill(255);
  for (let r = 0; r < size; r++) {
    for (let c = 0; c < size; c++) {
      if (!dark[r * size + c]) continue;
      for (let y = 0; y < scale; y++) {
        const row = (r + QUIET_ZONE) * scale + y;
        for (let x = 0; x < scale; x++) {
          const p = (row * side + (c + QUIET_ZONE) * scale + x) * 4;
          data[p] = data[p + 1] = data[p + 2] = 0;
        }
      }
    }
  }
  return { data, width: side, height: side };
}

/** The text jsQR reads from the rendered modules, null where it finds no readable code. */
export function readModules(dark: Uint8Array, size: number): string | null {
  const image = renderModules(dark, size);
  // Rendered in the map's own convention, so no inverted attempt: an inverted
  // read would accept a mask whose convention is the other way round.
  const found = jsQR(image.data, image.width, image.height, { inversionAttempts: 'dontInvert' });
  return found ? found.data : null;
}
