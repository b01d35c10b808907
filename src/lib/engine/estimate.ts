/**
 * How long a run would take, before it starts, from a training speed measured
 * earlier (the page: a run of the same network in this session). A lower
 * bound: it counts the method's planned trainings at the configured length,
 * not controls, companion runs (COLT's IMP, WORM's EarlyBird) or evaluation.
 * The CLI and the progress bar project from the run's own measured speed.
 */
import { totalIterations, type DataConfig, type ExperimentConfig } from './config';

/** A run at least this long is worth a question before it starts (page) or a warning (CLI). */
export const LONG_RUN_SECONDS = 6 * 3600;

/** Images per CIFAR-10 training batch file; CIFAR-100's one training file holds 50,000. */
const CIFAR10_IMAGES_PER_FILE = 10_000;
const CIFAR_TRAIN_IMAGES = 50_000;

/** Images in the training split the config asks for, from the file counts of the official sets. */
export function plannedTrainImages(data: DataConfig): number {
  const read =
    data.source === 'synthetic'
      ? data.syntheticTrain
      : data.source === 'cifar10' && data.train && !data.archive
        ? data.train.length * CIFAR10_IMAGES_PER_FILE
        : CIFAR_TRAIN_IMAGES;
  return Math.max(1, Math.min(read, data.trainLimit ?? Infinity) - data.validation);
}

/** Seconds `trainings` trainings of the config take at `imagesPerSecond` (the method's `plannedRounds`; a lower bound, see above). */
export function leastRunSeconds(config: ExperimentConfig, imagesPerSecond: number, trainings: number): number {
  const iterations = totalIterations(config.train, plannedTrainImages(config.data));
  return (iterations * config.train.batchSize * trainings) / imagesPerSecond;
}
