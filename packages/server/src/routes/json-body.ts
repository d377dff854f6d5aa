import type { FastifyRequest } from 'fastify';
import { HandoffError } from '../errors/catalogue.ts';
import { fieldPath, type Validator } from '../schemas/validator.ts';

const utf8 = new TextDecoder('utf-8', { fatal: true });

// NUL has no place in a PostgreSQL string and an unpaired surrogate (legal as a JSON escape) has no UTF-8 form:
// such a string would fail in the database as a 500, so it is refused here as a 400 naming the field.
const unpairedSurrogate = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const unstorable = (text: string) => text.includes('\u0000') || unpairedSurrogate.test(text);
// JSON text decoded as strict UTF-8 can only yield either through a `\u` escape (JSON refuses a raw control
// character in a string, and UTF-8 has no surrogates): a body without one (a false match only costs the walk)
// needs no walk, which would otherwise build a pointer string per field of every request.
const maybeUnstorableEscape = /\\u(?:0000|[dD][89a-fA-F])/;

/** One message per string (key or value) that cannot be stored; iterative, so deep nesting cannot overflow. */
function unstorableStrings(root: unknown): string[] {
  const problems: string[] = [];
  const pending: Array<[unknown, string]> = [[root, '']];
  for (let next = pending.pop(); next; next = pending.pop()) {
    const [value, pointer] = next;
    if (typeof value === 'string') {
      if (unstorable(value)) problems.push(`${fieldPath(pointer)}: must not contain NUL or unpaired surrogates`);
    } else if (value !== null && typeof value === 'object') {
      const children = Object.entries(value).reverse();
      for (const [key, child] of children) {
        const childPointer = `${pointer}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`;
        if (unstorable(key))
          problems.push(`${fieldPath(childPointer)}: field name must not contain NUL or unpaired surrogates`);
        pending.push([child, childPointer]);
      }
    }
  }
  return problems;
}

/**
 * Parses the raw body kept for signature checks as JSON and validates it. An empty body is `{}` (the contract
 * signs `{}` for it). Every failure is a 400 naming the problem; nothing here can throw anything else.
 */
export function readJsonBody<T>(request: FastifyRequest, validate: Validator<T>): T {
  const raw = request.rawBody;
  let value: unknown = {};
  let escaped = false;
  if (raw && raw.length > 0) {
    const contentType = request.headers['content-type'] ?? '';
    if (!/^application\/([\w.+-]+\+)?json\s*(;|$)/i.test(contentType)) throw new HandoffError('unsupported_media_type');
    let text: string;
    try {
      text = utf8.decode(raw);
    } catch {
      throw new HandoffError('invalid_request', { details: ['body: is not valid UTF-8'] });
    }
    try {
      value = JSON.parse(text);
    } catch {
      throw new HandoffError('invalid_request', { details: ['body: is not valid JSON'] });
    }
    escaped = maybeUnstorableEscape.test(text);
  }
  const problems = escaped ? unstorableStrings(value) : [];
  const result = validate(value);
  if (!result.ok || problems.length > 0) {
    throw new HandoffError('invalid_request', { details: [...problems, ...(result.ok ? [] : result.errors)] });
  }
  return result.value;
}
