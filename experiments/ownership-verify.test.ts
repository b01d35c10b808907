import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import type { Ticket } from '../src/lib/engine/checkpoint';
import { encodeTicket } from '../src/lib/engine/io/ticket-file';
import { Rng } from '../src/lib/engine/rng';
import { signMasks, type Magnitudes, type Masks } from '../src/lib/engine/ownership/signature';
import { main } from './ownership-verify';

/** A Conv-2 ticket at width 0.5 (conv_2's kernel map 32x32), half its weights kept at random; decodeTicket checks names, not sizes. */
function conv2Ticket(seed: number): { ticket: Ticket; weights: Magnitudes } {
  const rng = new Rng(seed);
  const shapes: Record<string, number[]> = { conv_1: [3, 3, 3, 32], conv_2: [3, 3, 32, 32], dense_1: [4, 4], dense_2: [4, 4], dense_3: [4, 10] };
  const masks: Masks = Object.create(null);
  const weights: Magnitudes = Object.create(null);
  for (const [name, shape] of Object.entries(shapes)) {
    const size = shape.reduce((a, b) => a * b, 1);
    masks[name] = { shape, keep: Uint8Array.from({ length: size }, () => (rng.next() < 0.5 ? 1 : 0)) };
    weights[name] = Float32Array.from({ length: size }, () => rng.normal());
  }
  const ticket: Ticket = { arch: 'conv-2', width: 0.5, numClasses: 10, method: 'imp', round: 1, sparsity: 0.5, iteration: 0, masks, weights: {} };
  return { ticket, weights };
}

/** Runs `npm run ownership:verify` in-process: its exit status, the lines it printed and its errors. */
async function verify(argv: string[]): Promise<{ code: number; lines: string[]; errors: string }> {
  const lines: string[] = [];
  const errors: string[] = [];
  const spy = vi.spyOn(console, 'error').mockImplementation((message: string) => errors.push(message));
  try {
    return { code: await main(argv, (line) => lines.push(line)), lines, errors: errors.join('\n') };
  } finally {
    spy.mockRestore();
  }
}

describe('npm run ownership:verify', () => {
  it('verifies a signed ticket (exit 0), not an unsigned one (exit 2), and refuses a file that is not a ticket or a key naming a layer the ticket lacks (exit 1)', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'lottery-ownership-verify-'));
    const { ticket, weights } = conv2Ticket(4);
    const signature = await signMasks(ticket.masks, weights, { payload: 'lottery-lab' });
    const signedFile = path.join(dir, 'signed.safetensors');
    const unsignedFile = path.join(dir, 'unsigned.safetensors');
    await writeFile(signedFile, encodeTicket({ ...ticket, masks: signature.masks, ownership: signature.key }));
    await writeFile(unsignedFile, encodeTicket(ticket));

    const signed = await verify([signedFile, '--payload', 'lottery-lab']);
    expect(signed.code).toBe(0);
    expect(signed.lines.join('\n')).toContain('decoded "lottery-lab", bit error rate 0.0000, payload hash matches the key');

    const { key } = signature;
    const unsigned = await verify([unsignedFile, '--payload', 'lottery-lab', '--key', `${key.layer},${key.row},${key.col},${key.version}`]);
    expect(unsigned.code).toBe(2);
    expect(unsigned.lines.at(-1)).toBe('verdict: the owner’s code does not decode at the key');

    const junkFile = path.join(dir, 'junk.safetensors');
    await writeFile(junkFile, 'not a ticket at all');
    const junk = await verify([junkFile]);
    expect(junk.code).toBe(1);
    expect(junk.errors).toMatch(/^Ticket .*junk\.safetensors: Not a valid \.safetensors file/);

    const wrongLayer = await verify([signedFile, '--key', 'conv_9,0,0,2']);
    expect(wrongLayer.code).toBe(1);
    expect(wrongLayer.errors).toBe('The key names layer "conv_9", which is not a conv layer of this ticket (its conv layers: conv_1, conv_2)');
  });
});
