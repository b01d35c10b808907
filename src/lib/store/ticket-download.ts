/** Saves a ticket as a .safetensors file through the browser's download. */
import type { Ticket } from '../engine/checkpoint';
import { encodeTicket } from '../engine/io/ticket-file';

/** `my-run-conv-2-round2.safetensors`: the run, the network and the round the ticket comes from. */
export function ticketFileName(runName: string, ticket: Ticket): string {
  const base = `${runName}-${ticket.arch}-round${ticket.round}`.replace(/[^\w.-]+/g, '_');
  return `${base}.safetensors`;
}

export function downloadTicket(runName: string, ticket: Ticket): void {
  const bytes = encodeTicket(ticket);
  const link = document.createElement('a');
  link.href = URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' }));
  link.download = ticketFileName(runName, ticket);
  link.click();
  URL.revokeObjectURL(link.href);
}
