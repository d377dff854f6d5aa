import { isIP } from 'node:net';
import type { TSchema } from '@sinclair/typebox';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';

const positiveDecimal = /^(?:0|[1-9]\d{0,29})(?:\.\d{1,18})?$/;

/**
 * One Ajv for every schema: no coercion, no removal of unknown fields (they are errors), every error reported.
 * Schemas compile once, at start-up.
 */
const ajv = new Ajv({ allErrors: true, coerceTypes: false, removeAdditional: false, useDefaults: false, strict: true });
addFormats.default(ajv, ['email', 'uuid', 'uri', 'date-time']);
ajv.addFormat('decimal', { type: 'string', validate: (v: string) => positiveDecimal.test(v) });
ajv.addFormat('positive-decimal', {
  type: 'string',
  validate: (v: string) => positiveDecimal.test(v) && /[1-9]/.test(v),
});
ajv.addFormat('ip', { type: 'string', validate: (v: string) => isIP(v) !== 0 });

const formatMessages: Record<string, string> = {
  email: 'must be an email address',
  uuid: 'must be a UUID',
  uri: 'must be an absolute URL',
  decimal: 'must be a decimal string ≥ 0 (e.g. "12.50")',
  'positive-decimal': 'must be a decimal string > 0 (e.g. "12.50")',
  ip: 'must be an IPv4 or IPv6 address',
};

/** JSON pointer `/permissions/2` → `permissions[2]`; the root is `body`. */
export function fieldPath(pointer: string, child?: string): string {
  const parts = pointer
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (child !== undefined) parts.push(child);
  let path = '';
  for (const part of parts) path += /^\d+$/.test(part) ? `[${part}]` : path === '' ? part : `.${part}`;
  return path === '' ? 'body' : path;
}

function describe(error: ErrorObject): string {
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'required':
      return `${fieldPath(error.instancePath, String(params.missingProperty))}: is required`;
    case 'additionalProperties':
      return `${fieldPath(error.instancePath, String(params.additionalProperty))}: is not a known field`;
    case 'enum':
    case 'const': {
      const allowed = (params.allowedValues as unknown[] | undefined) ?? [params.allowedValue];
      return `${fieldPath(error.instancePath)}: must be one of ${allowed.join(', ')}`;
    }
    case 'type':
      return `${fieldPath(error.instancePath)}: must be ${params.type === 'object' ? 'an object' : `a ${params.type}`}`;
    case 'minLength':
    case 'maxLength':
    case 'minItems':
    case 'maxItems': {
      const unit = error.keyword.endsWith('Length') ? 'characters' : 'items';
      const bound = error.keyword.startsWith('min') ? 'at least' : 'at most';
      return `${fieldPath(error.instancePath)}: must have ${bound} ${params.limit} ${unit}`;
    }
    case 'uniqueItems': {
      const [a, b] = [Number(params.i), Number(params.j)].sort((x, y) => x - y);
      return `${fieldPath(error.instancePath)}: must not contain duplicates (items ${a} and ${b} are equal)`;
    }
    case 'pattern':
      return `${fieldPath(error.instancePath)}: must match ${params.pattern}`;
    case 'format':
      return `${fieldPath(error.instancePath)}: ${formatMessages[String(params.format)] ?? `must be a valid ${params.format}`}`;
    default:
      return `${fieldPath(error.instancePath)}: ${error.message ?? 'is invalid'}`;
  }
}

export type Validator<T> = (value: unknown) => { ok: true; value: T } | { ok: false; errors: string[] };

export function compileValidator<T>(schema: TSchema): Validator<T> {
  const validate: ValidateFunction = ajv.compile(schema);
  return (value) => {
    if (validate(value)) return { ok: true, value: value as T };
    return { ok: false, errors: [...new Set((validate.errors ?? []).map(describe))] };
  };
}
