/** Text for numbers and backend facts, shared by every view. */
import type { BackendInfo } from '../engine/runtime/backend';

/** "wasm (SIMD, 2 threads)": the backend, with its SIMD and thread facts where it has them. */
export function describeBackend(info: BackendInfo): string {
  const facts = [
    info.simd === null ? null : info.simd ? 'SIMD' : 'no SIMD',
    info.threads === null ? null : `${info.threads} thread${info.threads === 1 ? '' : 's'}`,
  ].filter((fact) => fact !== null);
  return facts.length ? `${info.backend} (${facts.join(', ')})` : info.backend;
}

/** "google swiftshader (software, so training runs on wasm)", or "none". */
export function describeAdapter(info: BackendInfo): string {
  const adapter = info.adapter;
  if (!adapter) return 'none';
  const name = `${adapter.vendor} ${adapter.architecture}`.trim() || adapter.description || 'unnamed adapter';
  if (!adapter.software) return name;
  return info.backend === 'webgpu' ? `${name} (software)` : `${name} (software, so training runs on ${info.backend})`;
}

/** 0.4213 → "42.1%". */
export function formatPercent(fraction: number, digits = 1): string {
  return `${(fraction * 100).toFixed(digits)}%`;
}

/** Percent of prunable weights left, from a sparsity: 0.36 → 64. */
export function percentRemaining(sparsity: number): number {
  return (1 - sparsity) * 100;
}

/** 75 → "1 min 15 s"; two days and more in days ("1,157 days"). */
export function formatDuration(seconds: number): string {
  const days = seconds / 86_400;
  if (days >= 2) return `${Math.round(days).toLocaleString('en-US')} days`;
  const total = Math.max(0, Math.round(seconds));
  const minutes = Math.floor(total / 60);
  const rest = total % 60;
  if (minutes === 0) return `${rest} s`;
  const hours = Math.floor(minutes / 60);
  if (hours === 0) return `${minutes} min ${String(rest).padStart(2, '0')} s`;
  return `${hours} h ${String(minutes % 60).padStart(2, '0')} min`;
}
