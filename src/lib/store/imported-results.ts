/**
 * A results.json written elsewhere (the CLI, the exported PyTorch program on a
 * GPU server) as a stored run, so History lists it and the accuracy chart
 * draws it beside the lab's own runs. Checked key by key: a file of another
 * version or missing a key the chart needs is refused with that key's name.
 */
import { CONFIG_VERSION, parseConfig } from '../engine/config';
import type { RoundResult, RunResults } from '../engine/results';
import { newStoredRun, type StoredRun } from './run-db';

/** Keys every round must carry for History and the charts (experiment contract). */
const ROUND_KEYS = ['round', 'sparsity', 'layers', 'testAccuracy', 'earlyStopIteration', 'testAccuracyAtEarlyStop'] as const;

export class ResultsImportError extends Error {}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function checkRounds(rounds: unknown, where: string): RoundResult[] {
  if (!Array.isArray(rounds)) throw new ResultsImportError(`${where} must be a list of rounds`);
  rounds.forEach((round, i) => {
    if (!isObject(round)) throw new ResultsImportError(`${where}[${i}] must be an object`);
    for (const key of ROUND_KEYS) {
      if (!(key in round)) throw new ResultsImportError(`results.json has no "${key}" in ${where}[${i}]`);
    }
  });
  // Curves are optional in the contract; the chart reads them when present.
  return rounds.map((round) => ({ curve: [], ...round })) as RoundResult[];
}

/** The file's text as a stored run (status done, named after its config and where it ran); throws naming the bad key. */
export function importResults(text: string, id: string, now = Date.now()): StoredRun {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ResultsImportError(`Not a results.json: ${(error as Error).message}`);
  }
  if (!isObject(json)) throw new ResultsImportError('Not a results.json: the file holds no JSON object');
  for (const key of ['config', 'method', 'rounds'] as const) {
    if (!(key in json)) throw new ResultsImportError(`results.json has no "${key}"`);
  }
  const rawConfig = json.config;
  if (!isObject(rawConfig)) throw new ResultsImportError('results.json "config" must be an object');
  if (rawConfig.version !== undefined && rawConfig.version !== CONFIG_VERSION) {
    throw new ResultsImportError(`results.json is from config version ${JSON.stringify(rawConfig.version)}; this lab reads version ${CONFIG_VERSION}`);
  }
  let config;
  try {
    config = parseConfig(rawConfig);
  } catch (error) {
    throw new ResultsImportError(`results.json "config": ${(error as Error).message}`);
  }
  const rounds: StoredRun['rounds'] = { ticket: checkRounds(json.rounds, 'rounds') };
  if (json.controls !== undefined) {
    if (!isObject(json.controls)) throw new ResultsImportError('results.json "controls" must be an object of series');
    for (const [series, results] of Object.entries(json.controls)) {
      if (series !== 'randomReinit' && series !== 'randomPrune') throw new ResultsImportError(`results.json "controls" has unknown series "${series}"`);
      rounds[series] = checkRounds(results, `controls.${series}`);
    }
  }
  const backend = typeof json.backend === 'string' ? json.backend : 'imported';
  const startedAt = typeof json.startedAt === 'string' ? Date.parse(json.startedAt) : NaN;
  return {
    ...newStoredRun(id, config, null, Number.isFinite(startedAt) ? startedAt : now),
    name: `${config.name} (${backend})`,
    status: 'done',
    rounds,
    results: json as unknown as RunResults,
  };
}
