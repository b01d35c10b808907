/** Small statistics the engine's verdicts and the presets' readings share. */

/**
 * About two standard errors of the difference between two accuracies, each
 * measured on `testImages` images: a gap smaller than this is within what
 * another seed or another test set could change.
 */
export function noiseMargin(a: number, b: number, testImages: number): number {
  return 2 * Math.sqrt((a * (1 - a) + b * (1 - b)) / testImages);
}
