import { mkdir, mkdtemp, readFile, writeFile, copyFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { importResultsFolder } from './import-results';

const FIXTURE = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../e2e/fixtures/pytorch-imp-conv-2-quick.results.json');

describe('npm run import:results', () => {
  it('reads every results.json one level down, names the key a broken one lacks, and writes one CSV of all runs', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'lottery-import-'));
    await mkdir(path.join(dir, 'gpu-run'));
    await copyFile(FIXTURE, path.join(dir, 'gpu-run', 'results.json'));
    await mkdir(path.join(dir, 'broken'));
    await writeFile(path.join(dir, 'broken', 'results.json'), JSON.stringify({ config: {}, method: 'imp' }));
    const csv = path.join(dir, 'all.csv');
    const lines: string[] = [];
    const errors: string[] = [];
    const spy = vi.spyOn(console, 'error').mockImplementation((line: string) => void errors.push(line));
    const code = await importResultsFolder([dir, '--csv', csv], (line) => lines.push(line));
    spy.mockRestore();

    expect(code).toBe(1);
    expect(errors).toEqual([`${path.join(dir, 'broken', 'results.json')}: results.json has no "rounds"`]);
    const fixture = JSON.parse(await readFile(FIXTURE, 'utf8'));
    expect(lines[0]).toBe(`gpu-run: ${fixture.config.name} (${fixture.backend}), imp on conv-2 x${fixture.config.model.width}, seed ${fixture.config.seed}`);
    expect(lines.some((line) => line.startsWith('  ticket: 100.0% remaining'))).toBe(true);
    expect(lines.at(-1)).toBe('1 read, 1 refused');
    const rows = (await readFile(csv, 'utf8')).trim().split('\r\n');
    expect(rows[0].startsWith('run,series,round,percent_remaining')).toBe(true);
    const expected = fixture.rounds.length + Object.values(fixture.controls ?? {}).reduce((n: number, r) => n + (r as unknown[]).length, 0);
    expect(rows.slice(1)).toHaveLength(expected);
    expect(rows.slice(1).every((row) => row.startsWith('gpu-run,'))).toBe(true);
  });

  it('says so when the folder holds no results.json', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'lottery-import-'));
    const errors: string[] = [];
    const spy = vi.spyOn(console, 'error').mockImplementation((line: string) => void errors.push(line));
    expect(await importResultsFolder([dir], () => {})).toBe(1);
    spy.mockRestore();
    expect(errors).toEqual([`No results.json in ${JSON.stringify(dir)} or its subfolders`]);
  });
});
