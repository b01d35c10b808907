/**
 * npx tsx scripts/ticket-from-checkpoint.ts <out-dir>/checkpoint.bin <ticket.safetensors>
 *
 * Writes the ticket held by a CLI run's latest checkpoint (after its last
 * completed round) as .safetensors, for a run stopped before its end.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { deserialize } from 'node:v8';
import type { Checkpoint } from '../src/lib/engine/checkpoint';
import { encodeTicket } from '../src/lib/engine/io/ticket-file';

const [checkpointFile, ticketFile] = process.argv.slice(2);
if (!checkpointFile || !ticketFile) {
  console.error('usage: npx tsx scripts/ticket-from-checkpoint.ts <checkpoint.bin> <ticket.safetensors>');
  process.exit(1);
}
const checkpoint = deserialize(await readFile(checkpointFile)) as Checkpoint;
if (!checkpoint.ticket) {
  console.error(`${checkpointFile} holds no ticket (round ${checkpoint.round})`);
  process.exit(1);
}
await writeFile(ticketFile, encodeTicket(checkpoint.ticket));
console.log(`wrote ${ticketFile}: round ${checkpoint.ticket.round}, ${(100 * (1 - checkpoint.ticket.sparsity)).toFixed(1)}% of weights remaining, rewind iteration ${checkpoint.ticket.iteration}`);
