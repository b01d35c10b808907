/**
 * Chart.js set up once for the lab: the parts we draw with, no animation
 * (charts redraw on every event), and colours read from the page's CSS so
 * charts follow light and dark mode.
 */
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  Legend,
  LineController,
  LineElement,
  LinearScale,
  LogarithmicScale,
  PointElement,
  Title,
  Tooltip,
  type ChartOptions,
  type ChartType,
} from 'chart.js';
// The theme reads its colours from this stylesheet's variables, so it must be
// applied before the first read (main.ts imports it only after the App).
import './global.css';

Chart.register(
  BarController,
  BarElement,
  CategoryScale,
  Legend,
  LineController,
  LineElement,
  LinearScale,
  LogarithmicScale,
  PointElement,
  Title,
  Tooltip,
);

declare global {
  interface Window {
    /** The live charts by name, for tests and the console. */
    __labCharts: Record<string, Chart>;
  }
}
window.__labCharts = {};

const darkScheme = matchMedia('(prefers-color-scheme: dark)');

class ChartTheme {
  text = $state('');
  grid = $state('');
  /** The page background: charts are transparent, so pictures of them are painted on this. */
  background = $state('');

  constructor() {
    this.read();
    darkScheme.addEventListener('change', () => this.read());
  }

  private read(): void {
    const style = getComputedStyle(document.documentElement);
    this.text = style.getPropertyValue('--text').trim();
    this.grid = style.getPropertyValue('--grid').trim();
    this.background = style.getPropertyValue('--bg').trim();
  }
}

export const chartTheme = new ChartTheme();

/** Options every lab chart shares; `title` is the chart's heading. */
export function baseOptions<T extends ChartType>(title: string, showLegend = true): ChartOptions<T> {
  return {
    animation: false,
    responsive: true,
    maintainAspectRatio: false,
    color: chartTheme.text,
    plugins: {
      title: { display: true, text: title, color: chartTheme.text, font: { size: 14 } },
      legend: { display: showLegend, labels: { color: chartTheme.text, usePointStyle: true } },
    },
  } as ChartOptions<T>;
}

/** A labelled axis in the theme's colours. */
export function axis(title: string) {
  return {
    title: { display: true, text: title, color: chartTheme.text },
    ticks: { color: chartTheme.text },
    grid: { color: chartTheme.grid },
    border: { color: chartTheme.grid },
  };
}

export { Chart };
