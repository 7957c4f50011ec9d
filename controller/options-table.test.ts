import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatDuration } from '../crds/durations.ts';
import { MarkerError, renderOptionsTable, spliceOptionsTable, TABLE_BEGIN, TABLE_END } from './options-table.ts';
import { optionDefinitions, type OptionName } from './options.ts';

const README = join(dirname(fileURLToPath(import.meta.url)), '..', 'README.md');

function rows(): Map<string, string[]> {
  const byFlag = new Map<string, string[]>();
  for (const line of renderOptionsTable().split('\n').slice(2)) {
    const cells = line.split(/(?<!\\)\|/).slice(1, -1).map((c) => c.trim());
    byFlag.set(cells[0] as string, cells);
  }
  return byFlag;
}

describe('README flag table', () => {
  it('is the table rendered from controller/options.ts (run `npm run gen:readme` when this fails)', () => {
    const readme = readFileSync(README, 'utf8');
    expect(readme, 'README.md has the table markers').to.contain(TABLE_BEGIN).and.to.contain(TABLE_END);
    expect(spliceOptionsTable(readme) === readme, 'README.md flag table is stale: run `npm run gen:readme` and commit README.md').to.equal(true);
  });

  it('shows every flag with its exact env name, default and range, nothing elided', () => {
    const table = rows();
    const names = Object.keys(optionDefinitions) as OptionName[];
    expect(table.size).to.equal(names.length);
    for (const name of names) {
      const def = optionDefinitions[name];
      const row = table.get(`\`--${def.flag}\``);
      expect(row, `row of --${def.flag}`).to.not.equal(undefined);
      expect(row?.[1]).to.equal(`\`${def.env}\``);
      if (def.kind === 'duration') {
        expect(row?.[2]).to.equal(`\`${formatDuration(def.default)}\``);
        expect(row?.[3]).to.equal(`\`${formatDuration(def.minMs ?? 0)}\` to \`${formatDuration(def.maxMs ?? 0)}\``);
      }
      expect(row?.join(' '), `--${def.flag}`).to.not.contain('...');
    }
    // The reference's name, which nobody would guess from the flag.
    expect(table.get('`--health-probe-bind-address`')?.slice(1, 3)).to.deep.equal(['`PROBE_BIND_ADDRESS`', '`:8082`']);
    expect(table.get('`--metrics-bind-address`')?.[3]).to.equal('`[host]:port`, or `0` to disable');
    expect(table.get('`--log-level`')?.[3]).to.match(/^one of `trace`, `debug`, `info`/);
    expect(table.get('`--shutdown-timeout`')?.slice(1, 3)).to.deep.equal(['`SHUTDOWN_TIMEOUT`', '`15s`']);
    expect(table.get('`--leader-elect-namespace`')?.[2]).to.equal('(empty)');
  });

  it('replaces only what is between the markers, and refuses a README without them', () => {
    const doc = `# title\n\nbefore\n${TABLE_BEGIN}\nold table\n${TABLE_END}\nafter\n`;
    const spliced = spliceOptionsTable(doc, '| new |');
    expect(spliced).to.equal(`# title\n\nbefore\n${TABLE_BEGIN}\n| new |\n${TABLE_END}\nafter\n`);
    expect(spliceOptionsTable(spliced, '| new |')).to.equal(spliced);
    expect(() => spliceOptionsTable('# no markers\n')).to.throw(MarkerError, /marker/);
    expect(() => spliceOptionsTable(`${TABLE_END}\n${TABLE_BEGIN}\n`)).to.throw(MarkerError);
  });
});
