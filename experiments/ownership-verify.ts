/**
 * npm run ownership:verify -- <suspect.safetensors> [--payload <text>] [--key <layer>,<row>,<col>,<version>] [--out <verify.json>]
 *
 * White-box verification of a suspect ticket, without training: reads the
 * kernel map at the key (the owner's, or the one in the file's metadata),
 * decodes it with jsQR and counts the bit errors over the data and
 * error-correction modules against the owner's code; then scans every conv
 * layer, QR version and offset without the key. Prints one line per finding
 * and writes them as JSON with --out. Exit status 0 when the owner's text
 * decodes at the key, 2 when it does not, 1 on bad input.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { decodeTicket } from '../src/lib/engine/io/ticket-file';
import { payloadSha256, scanMasks, verifyMasks, type OwnershipKey } from '../src/lib/engine/ownership/signature';
import { runIfMain } from './cli';

const USAGE = 'usage: npm run ownership:verify -- <suspect.safetensors> [--payload <text>] [--key <layer>,<row>,<col>,<version>] [--out <verify.json>]';

interface VerifyOptions {
  ticket: string;
  payload?: string;
  key?: Omit<OwnershipKey, 'payloadSha256'>;
  out?: string;
}

export function parseVerifyArgs(argv: string[]): VerifyOptions {
  const options: Partial<VerifyOptions> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const next = argv[++i];
      if (next === undefined) throw new Error(`${arg} needs a value. ${USAGE}`);
      return next;
    };
    if (arg === '--payload') options.payload = value();
    else if (arg === '--out') options.out = value();
    else if (arg === '--key') {
      const parts = value().split(',');
      const [row, col, version] = parts.slice(1).map(Number);
      if (parts.length !== 4 || ![row, col, version].every((n) => Number.isInteger(n) && n >= 0)) {
        throw new Error(`--key must be <layer>,<row>,<col>,<version> (e.g. conv_2,0,3,2), got ${JSON.stringify(parts.join(','))}`);
      }
      options.key = { layer: parts[0], row, col, version };
    } else if (arg.startsWith('--')) throw new Error(`Unknown option ${arg}. ${USAGE}`);
    else if (!options.ticket) options.ticket = arg;
    else throw new Error(`Unexpected argument "${arg}". ${USAGE}`);
  }
  if (!options.ticket) throw new Error(USAGE);
  return options as VerifyOptions;
}

export async function main(argv: string[], log: (line: string) => void = console.log): Promise<number> {
  try {
    const options = parseVerifyArgs(argv);
    let bytes: Uint8Array;
    try {
      bytes = await readFile(options.ticket);
    } catch (error) {
      throw new Error(`Cannot read ticket ${options.ticket}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
    }
    let ticket;
    try {
      ticket = decodeTicket(bytes);
    } catch (error) {
      throw new Error(`Ticket ${options.ticket}: ${(error as Error).message}`);
    }
    const key: OwnershipKey | null = options.key
      ? { ...options.key, payloadSha256: options.payload ? await payloadSha256(options.payload) : (ticket.ownership?.payloadSha256 ?? '') }
      : (ticket.ownership ?? null);
    const report: Record<string, unknown> = { ticket: options.ticket, key };
    let decoded = false;
    if (key) {
      const verified = await verifyMasks(ticket.masks, key, options.payload);
      decoded = verified.text !== null && (options.payload === undefined || verified.text === options.payload);
      report.verify = { decoded, text: verified.text, bitErrorRate: verified.bitErrorRate, payloadMatchesKey: verified.payloadMatchesKey };
      log(
        `key ${key.layer} row ${key.row} col ${key.col} version ${key.version}: decoded ${JSON.stringify(verified.text)}, ` +
          `bit error rate ${verified.bitErrorRate === null ? 'unknown (nothing decoded and no --payload)' : verified.bitErrorRate.toFixed(4)}, ` +
          `payload hash ${verified.payloadMatchesKey === null ? 'not checked' : verified.payloadMatchesKey ? 'matches the key' : 'does not match the key'}`,
      );
    } else log('no key: the ticket carries none and no --key was given');
    const scan = scanMasks(ticket.masks);
    report.scan = scan;
    log(`keyless scan: ${scan.windows} windows, ${scan.decoded.length} decoded${scan.decoded.map((hit) => ` (${hit.layer} row ${hit.row} col ${hit.col} version ${hit.version}: ${JSON.stringify(hit.text)})`).join('')}`);
    if (scan.best) log(`best finder match: ${scan.best.layer} row ${scan.best.row} col ${scan.best.col} version ${scan.best.version}, ${(100 * scan.best.finderAgreement).toFixed(1)}% of finder modules`);
    if (options.out) await writeFile(options.out, JSON.stringify(report, null, 2));
    log(decoded ? 'verdict: the owner’s code decodes at the key' : 'verdict: the owner’s code does not decode at the key');
    return decoded ? 0 : 2;
  } catch (error) {
    console.error((error as Error).message);
    return 1;
  }
}

runIfMain(import.meta.url, main);
