/**
 * The README's flag table, rendered from the option definitions so it cannot drift from what the
 * controller parses: every flag with its exact environment variable, default and accepted range.
 * `npm run gen:readme` writes it between the marker comments; a unit test fails when it is stale.
 */
import { formatDuration } from '../crds/durations.ts';
import { optionDefinitions, type OptionName } from './options.ts';

export const TABLE_BEGIN = '<!-- options-table:begin (generated from controller/options.ts by `npm run gen:readme`; do not edit) -->';
export const TABLE_END = '<!-- options-table:end -->';

type Definition = (typeof optionDefinitions)[OptionName];

/** Markdown inline code that survives any content (pipes would split the table cell). */
function code(text: string): string {
  return `\`${text.replaceAll('|', '\\|')}\``;
}

function cell(text: string): string {
  return text.replaceAll('|', '\\|').replaceAll('\n', ' ');
}

function shownDefault(def: Definition): string {
  switch (def.kind) {
    case 'duration':
      return code(formatDuration(def.default));
    case 'boolean':
      return code(String(def.default));
    default:
      return def.default === '' ? '(empty)' : code(def.default);
  }
}

function shownRange(def: Definition): string {
  switch (def.kind) {
    case 'duration':
      return `${code(formatDuration(def.minMs ?? 1))} to ${code(formatDuration(def.maxMs ?? Number.MAX_SAFE_INTEGER))}`;
    case 'boolean':
      return 'true/false, 1/0, yes/no';
    case 'address':
      return `${code('[host]:port')}${def.mayDisable ? `, or ${code('0')} to disable` : ''}`;
    case 'rate':
      return `${code('<n>/s')} or ${code('<n>/s,<burst>')} (burst default 2 × n, rounded up)`;
    case 'string':
      return def.values ? `one of ${def.values.map(code).join(', ')}` : 'any string';
  }
}

/** The Markdown table, one row per option in definition order. */
export function renderOptionsTable(): string {
  const rows = ['| flag | env | default | accepted | description |', '|---|---|---|---|---|'];
  for (const name of Object.keys(optionDefinitions) as OptionName[]) {
    const def = optionDefinitions[name];
    rows.push(`| ${code(`--${def.flag}`)} | ${code(def.env)} | ${shownDefault(def)} | ${shownRange(def)} | ${cell(def.description)} |`);
  }
  return rows.join('\n');
}

export class MarkerError extends Error {}

/** `readme` with the text between the markers replaced by the current table. */
export function spliceOptionsTable(readme: string, table = renderOptionsTable()): string {
  const begin = readme.indexOf(TABLE_BEGIN);
  const end = readme.indexOf(TABLE_END);
  if (begin < 0 || end < 0 || end < begin) {
    throw new MarkerError(`README.md needs the marker lines ${TABLE_BEGIN} and ${TABLE_END}, in that order`);
  }
  return `${readme.slice(0, begin + TABLE_BEGIN.length)}\n${table}\n${readme.slice(end)}`;
}
