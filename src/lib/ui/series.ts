/** How each run series is named and coloured in charts and tables. */
import type { SeriesName } from '../engine/results';

const KNOWN_SERIES: Record<string, { label: string; color: string }> = {
  ticket: { label: 'Ticket', color: '#2f7fe0' },
  randomReinit: { label: 'Random reinit', color: '#e8772e' },
  randomPrune: { label: 'Random pruning', color: '#1fa37a' },
  earlybird: { label: 'EarlyBird', color: '#7a5cc7' },
  worm: { label: 'WORM', color: '#d64545' },
  colt: { label: 'COLT', color: '#c9a227' },
  imp: { label: 'IMP', color: '#2f7fe0' },
};

/** For series a method adds later; mid-tone so they read on light and dark backgrounds. */
const OTHER_COLORS = ['#9b59d0', '#d64545', '#c9a227', '#3aa6b9'];

export function seriesLabel(name: SeriesName): string {
  return KNOWN_SERIES[name]?.label ?? name;
}

/** `index`: the series' place among those shown, so unknown series get distinct colours. */
export function seriesColor(name: SeriesName, index: number): string {
  return KNOWN_SERIES[name]?.color ?? OTHER_COLORS[index % OTHER_COLORS.length];
}
