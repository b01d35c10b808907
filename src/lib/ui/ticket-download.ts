/** Saves a ticket as a .safetensors file through the browser's download. */
import type { Ticket } from '../engine/checkpoint';
import { encodeTicket } from '../engine/io/ticket-file';
import { downloadBlob } from './export';

/** `my-run-conv-2-round2.safetensors`: the run, the network and the round the ticket comes from. */
export function ticketFileName(runName: string, ticket: Ticket): string {
  const base = `${runName}-${ticket.arch}-round${ticket.round}`.replace(/[^\w.-]+/g, '_');
  return `${base}.safetensors`;
}

export function downloadTicket(runName: string, ticket: Ticket): void {
  const bytes = encodeTicket(ticket) as Uint8Array<ArrayBuffer>;
  downloadBlob(new Blob([bytes], { type: 'application/octet-stream' }), ticketFileName(runName, ticket));
}
