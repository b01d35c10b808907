import { beforeAll, describe, expect, it } from 'vitest';
import { TINY_EARLYBIRD_CONFIG } from '../earlybird/tiny-config';
import type { Checkpoint } from '../../checkpoint';
import { runExperiment } from '../../experiment';
import { resultsOf, withoutTimings, type EngineEvent } from '../../results';
import { initBackend } from '../../runtime/backend';

beforeAll(async () => {
  await initBackend('wasm');
});

const config = { ...TINY_EARLYBIRD_CONFIG, method: 'worm', worm: { chiMode: 'fixed' } };

/** The run's events and checkpoints. */
async function run(resume: Checkpoint | null = null) {
  const events: EngineEvent[] = [];
  const checkpoints: Checkpoint[] = [];
  await runExperiment(config, { files: null, resume, emit: (e) => (e.type === 'checkpoint' ? checkpoints.push(e.checkpoint) : events.push(e)) });
  return { events, checkpoints };
}

/** The last data each view was drawn with, by view name, with the CLI's line left out. */
function lastViews(events: EngineEvent[]): Record<string, unknown> {
  const last: Record<string, unknown> = {};
  for (const e of events) if (e.type === 'view') last[e.view] = { ...(e.data as object), line: undefined };
  return last;
}

describe('WORM with plain EarlyBird run beside it (ctx.runBeside)', () => {
  it('draws both searches in one set of views, reports rounds by series, and keeps the checkpoint shape', async () => {
    const whole = await run();
    const views = lastViews(whole.events) as {
      'mask-distance': { series: { name: string }[] };
      'channel-masks': { series: { name: string }[] };
      'eb-comparison': { rows: { name: string }[] };
    };
    expect(views['mask-distance'].series.map((s) => s.name)).toEqual(['EarlyBird', 'WORM']);
    expect(views['channel-masks'].series.map((s) => s.name)).toEqual(['EarlyBird', 'WORM']);
    expect(views['eb-comparison'].rows.map((r) => r.name)).toEqual(['EarlyBird', 'WORM']);

    // A search that draws no ticket ends after round 0 (one checkpoint); one
    // that does is pruned (a checkpoint) and retrained (another).
    const done = whole.events.find((e) => e.type === 'done')!;
    const { earlybird, worm } = resultsOf(done.results, 'worm').comparison!;
    const roundsOf = (epoch: number | null) => (epoch === null ? [0] : [0, 1]);
    const roundSeries = whole.events.flatMap((e) => (e.type === 'round' ? [`${e.series} ${e.result.round}`] : []));
    expect(roundSeries).toEqual([...roundsOf(earlybird.epoch).map((r) => `earlybird ${r}`), ...roundsOf(worm.epoch).map((r) => `ticket ${r}`)]);

    // The progress bar counts each search's own two rounds, as COLT's and its IMP comparison's count their own.
    const progress = new Set(whole.events.flatMap((e) => (e.type === 'progress' ? [`${e.series} of ${e.rounds}`] : [])));
    expect(progress).toEqual(new Set(['earlybird of 2', 'ticket of 2']));

    // {views, earlybird, worm}: the shape WORM's checkpoints had before the
    // comparison became a branch, so checkpoints saved then keep resuming.
    for (const checkpoint of whole.checkpoints) expect(Object.keys(checkpoint.state as object).sort()).toEqual(['earlybird', 'views', 'worm']);
    const states = whole.checkpoints.map((c) => c.state as { earlybird: { finished: boolean } | null; worm: unknown });
    const earlybirdRounds = roundsOf(earlybird.epoch).length;
    expect(states.map((s) => [s.earlybird?.finished ?? null, s.worm !== null])).toEqual([
      ...roundsOf(earlybird.epoch).map((r) => [r === earlybirdRounds - 1, false]),
      ...roundsOf(worm.epoch).map(() => [true, true]),
    ]);
    // The comparison's checkpoints carry no ticket: the run's ticket is WORM's, once it drew one.
    expect(whole.checkpoints.map((c) => c.ticket?.method ?? null)).toEqual([
      ...roundsOf(earlybird.epoch).map(() => null),
      ...roundsOf(worm.epoch).map(() => (worm.epoch === null ? null : 'worm')),
    ]);
  }, 240_000);

  it('a run resumed mid-comparison or mid-WORM draws the same views as the whole run', async () => {
    const whole = await run();
    // With both tickets drawn: EarlyBird pruned, retraining next; EarlyBird
    // done, WORM not begun; WORM pruned, retraining next.
    for (const checkpoint of whole.checkpoints.slice(0, -1)) {
      const resumed = await run(checkpoint);
      expect(withoutTimings(lastViews(resumed.events))).toEqual(withoutTimings(lastViews(whole.events)));
    }
  }, 240_000);
});
