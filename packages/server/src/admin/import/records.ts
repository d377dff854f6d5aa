import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type CsvError, parse } from 'csv-parse';
import { OperatorError } from '../accounts.ts';

export type ImportFormat = 'csv' | 'jsonl';

export const importFields = [
  'email',
  'phone_number',
  'participant_code',
  'status',
  'identifier',
  'first_name',
  'last_name',
  'password',
] as const;

export type ImportField = (typeof importFields)[number];
export type ImportFields = Partial<Record<ImportField, string>>;

/** One row of the source: its fields, or why it could not be read. `line` is where it ends in the file. */
export type SourceRecord = { line: number; fields: ImportFields } | { line: number; problem: string };

const aliases: Record<string, ImportField> = { phone: 'phone_number' };

function fieldName(name: string): ImportField | undefined {
  const normalized = name.trim().toLowerCase();
  return aliases[normalized] ?? importFields.find((field) => field === normalized);
}

/** The header row decides the columns; a column we do not know is fatal rather than silently dropped. */
function csvColumns(header: string[]): ImportField[] {
  const columns = header.map((name) => {
    const field = fieldName(name);
    if (!field) throw new OperatorError(`unknown column "${name}" in the header; known: ${importFields.join(', ')}`);
    return field;
  });
  const repeated = columns.find((column, i) => columns.indexOf(column) !== i);
  if (repeated) throw new OperatorError(`column "${repeated}" appears twice in the header`);
  if (!columns.includes('email') && !columns.includes('participant_code')) {
    throw new OperatorError(
      'the header needs an email or a participant_code column (the keys of an idempotent import)',
    );
  }
  return columns;
}

const describeCsvError = (error: CsvError | undefined) =>
  error?.code === 'CSV_RECORD_INCONSISTENT_COLUMNS'
    ? 'not as many values as the header has columns'
    : `unreadable CSV (${error?.code ?? 'unknown error'})`;

async function* csvRecords(input: Readable): AsyncGenerator<SourceRecord> {
  const skipped: SourceRecord[] = [];
  const parser = parse({
    bom: true,
    columns: csvColumns,
    info: true,
    // Values are trimmed of surrounding whitespace in both formats (passwords included).
    trim: true,
    skip_empty_lines: true,
    // A malformed row is reported with its line number and the import goes on.
    skip_records_with_error: true,
    on_skip: (error) => {
      skipped.push({ line: Number(error?.lines ?? 0), problem: describeCsvError(error) });
      return undefined;
    },
  });
  const done = pipeline(input, parser);
  // Surfaced by the await below, or moot when the consumer stops early.
  done.catch(() => {});
  for await (const { record, info } of parser as AsyncIterable<{
    record: Record<ImportField, string>;
    info: { lines: number };
  }>) {
    // The parser runs ahead of this loop: report the malformed rows before this one, in file order.
    while (skipped.length > 0 && (skipped[0] as SourceRecord).line < info.lines) yield skipped.shift() as SourceRecord;
    const fields: ImportFields = {};
    for (const field of importFields) if (record[field]) fields[field] = record[field];
    yield { line: info.lines, fields };
  }
  await done;
  yield* skipped.splice(0);
}

const maxLineLength = 1024 * 1024;

function jsonRecord(text: string, line: number): SourceRecord | undefined {
  if (text.trim() === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { line, problem: 'not valid JSON' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return { line, problem: 'not a JSON object' };
  const fields: ImportFields = {};
  for (const [key, raw] of Object.entries(value)) {
    const field = fieldName(key);
    if (!field) return { line, problem: `unknown field "${key}"` };
    if (raw === null || raw === '') continue;
    if (typeof raw !== 'string') return { line, problem: `${field}: must be a string` };
    fields[field] = raw.trim();
  }
  return { line, fields };
}

/** JSON Lines, one object per line, read chunk by chunk: memory holds one chunk and one line, whatever the size. */
async function* jsonLines(input: Readable): AsyncGenerator<SourceRecord> {
  input.setEncoding('utf8');
  let pending = '';
  let line = 0;
  for await (const chunk of input as AsyncIterable<string>) {
    pending += line === 0 && pending === '' ? chunk.replace(/^\uFEFF/, '') : chunk;
    let start = 0;
    for (let end = pending.indexOf('\n'); end >= 0; end = pending.indexOf('\n', start)) {
      const record = jsonRecord(pending.slice(start, end), ++line);
      if (record) yield record;
      start = end + 1;
    }
    pending = pending.slice(start);
    if (pending.length > maxLineLength) throw new OperatorError(`line ${line + 1} is over 1 MiB: is this JSON Lines?`);
  }
  const last = jsonRecord(pending, ++line);
  if (last) yield last;
}

/** The rows of a CSV (header row first) or JSON Lines source, streamed. */
export function readRecords(input: Readable, format: ImportFormat): AsyncGenerator<SourceRecord> {
  return format === 'csv' ? csvRecords(input) : jsonLines(input);
}

/** `--format`, or guessed from the file name. */
export function formatOf(file: string, explicit?: string): ImportFormat {
  if (explicit === 'csv' || explicit === 'jsonl') return explicit;
  if (explicit) throw new OperatorError(`--format ${explicit}: use csv or jsonl`);
  if (/\.csv$/i.test(file)) return 'csv';
  if (/\.(jsonl|ndjson)$/i.test(file)) return 'jsonl';
  throw new OperatorError(`cannot tell the format of ${file}: name it .csv or .jsonl, or pass --format csv|jsonl`);
}
