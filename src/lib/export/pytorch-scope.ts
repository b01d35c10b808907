/**
 * What the PyTorch exporter covers (issue 21), apart from the exporter itself:
 * the page's main thread asks this to explain a disabled button, while the
 * exporter, which creates tfjs tensors to build the network's layers, runs
 * in the engine worker, where the page's tfjs backend lives.
 */
import { ConfigError, type ExperimentConfig } from '../engine/config';

/** Methods the exported program runs; the others are refused by name. */
export const PYTORCH_METHODS = ['dense', 'imp'] as const;

/** Throws a ConfigError naming what the exported program does not cover. */
export function checkExportable(config: ExperimentConfig): void {
  if (!(PYTORCH_METHODS as readonly string[]).includes(config.method)) {
    throw new ConfigError(
      `Cannot export method "${config.method}" to PyTorch yet: the exporter covers ${PYTORCH_METHODS.join(' and ')} experiments`,
    );
  }
  if (config.data.source === 'synthetic') {
    throw new ConfigError('Cannot export data.source "synthetic": the PyTorch program reads the official CIFAR binary files (cifar10, cifar100)');
  }
  if (config.data.validation === 0) {
    throw new ConfigError('Cannot export data.validation 0: the PyTorch program early-stops on a validation split, never on the test set');
  }
}

/** checkExportable's message for `config`, or null when it can be exported. */
export function exportRefusal(config: ExperimentConfig): string | null {
  try {
    checkExportable(config);
    return null;
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
}
