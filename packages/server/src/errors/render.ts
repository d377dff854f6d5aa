import { pageHeaders } from '../pages/headers.ts';
import { errorPage } from '../pages/views/error.ts';
import { isDatabaseUnavailable } from '../store/database-errors.ts';
import { catalogue, DependencyError, type ErrorCode, HandoffError } from './catalogue.ts';

export type Surface = 'client-token' | 'partner-api' | 'pages' | 'public';

/** Generic codes are thrown under their client-token names; the partner API shows its ER equivalent. */
const partnerApiEquivalent: Partial<Record<ErrorCode, ErrorCode>> = {
  invalid_request: 'ER900',
  rate_limited: 'ER901',
  payload_too_large: 'ER902',
  not_found: 'ER903',
  unsupported_media_type: 'ER904',
  unavailable: 'ER950',
  internal: 'ER999',
};

/** Fastify's own failures (body limits, malformed headers) as catalogue errors. */
const fastifyCodes: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'invalid_request',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'invalid_request',
  FST_ERR_CTP_INVALID_JSON_BODY: 'invalid_request',
  FST_ERR_BAD_URL: 'not_found',
  FST_ERR_ASYNC_CONSTRAINT: 'invalid_request',
};

/** Any thrown value as a catalogue error; `internal` for what we did not anticipate (the caller logs it). */
export function toHandoffError(error: unknown): HandoffError {
  if (error instanceof HandoffError) return error;
  if (error instanceof DependencyError) {
    return new HandoffError('unavailable', { message: `service unavailable: ${error.dependency}` });
  }
  if (isDatabaseUnavailable(error))
    return new HandoffError('unavailable', { message: 'service unavailable: database' });
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && code in fastifyCodes) {
    const mapped = fastifyCodes[code] as ErrorCode;
    return new HandoffError(mapped, mapped === 'invalid_request' ? { details: ['body: is malformed'] } : {});
  }
  return new HandoffError('internal');
}

export interface RenderedError {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

/** The one place that turns a catalogue error into a surface's wire shape. */
export function renderError(surface: Surface, error: HandoffError, requestId: string): RenderedError {
  const headers: Record<string, string> = {};
  if (error.retryAfter !== undefined) headers['retry-after'] = String(error.retryAfter);
  if (surface === 'partner-api') {
    const code = partnerApiEquivalent[error.code] ?? error.code;
    const entry = catalogue[code];
    // Validation messages name each field; every other entry answers with the catalogue's exact text.
    const message = code === 'ER900' && error.details ? `${entry.message} ${error.details.join('; ')}` : entry.message;
    const body: Record<string, unknown> = { code, message, solution: entry.solution };
    if (code === 'ER999') body.requestId = requestId;
    return { status: entry.status, headers, body: { errors: { [code]: body } } };
  }
  const status = catalogue[error.code].status;
  // The hosted pages answer people: an HTML page with the pages' security headers, never JSON.
  if (surface === 'pages') {
    return { status, headers: { ...pageHeaders(), ...headers }, body: errorPage(error, requestId) };
  }
  if (error.code === 'internal') return { status, headers, body: { error: 'internal error', request_id: requestId } };
  if (error.code === 'invalid_request') return { status, headers, body: { errors: error.details ?? [error.message] } };
  return { status, headers, body: { error: error.message } };
}
