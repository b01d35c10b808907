/**
 * Downloads of a run: results as CSV (one row per series and round), and
 * file names that say what a file holds. The text builders are pure, so
 * tests check them without a page.
 */
import type { RoundResult, SeriesName } from '../engine/results';
import { percentRemaining } from './format';

export const CSV_COLUMNS = [
  'series',
  'round',
  'percent_remaining',
  'sparsity',
  'test_accuracy',
  'early_stop_iteration',
  'test_accuracy_at_early_stop',
  'train_seconds',
  'images_per_second',
] as const;

/** Quotes a field only when it needs it (RFC 4180). */
export function csvField(value: string | number): string {
  const text = String(value);
  return /[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** Fractions stay fractions (as in results.json); only float noise is trimmed. */
function number(value: number): number {
  return Number(value.toPrecision(6));
}

/** Every round of every series, in the order the series appeared; CRLF line ends as RFC 4180 asks. */
export function resultsCsv(rounds: Record<SeriesName, RoundResult[]>): string {
  const rows = Object.entries(rounds).flatMap(([series, results]) =>
    results.map((r) => [
      series,
      r.round,
      number(percentRemaining(r.sparsity)),
      number(r.sparsity),
      number(r.testAccuracy),
      // Empty where the run has no early stop (no validation split).
      r.earlyStopIteration ?? '',
      r.testAccuracyAtEarlyStop === null ? '' : number(r.testAccuracyAtEarlyStop),
      number(r.trainSeconds),
      number(r.imagesPerSecond),
    ]),
  );
  return [CSV_COLUMNS, ...rows].map((row) => row.map(csvField).join(',')).join('\r\n') + '\r\n';
}

/** "Test accuracy vs weights remaining" → "lottery-lab-test-accuracy-vs-weights-remaining.png". */
export function chartFileName(title: string): string {
  const slug = title
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return `lottery-lab-${slug || 'chart'}.png`;
}

/** Saves a blob under `fileName` through a temporary link. */
export function downloadBlob(blob: Blob, fileName: string): void {
  const link = document.createElement('a');
  link.href = URL.createObjectURL(blob);
  link.download = fileName;
  link.click();
  URL.revokeObjectURL(link.href);
}
