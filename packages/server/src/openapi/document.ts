import type { TSchema } from '@sinclair/typebox';
import { catalogue, type ErrorCode, HandoffError } from '../errors/catalogue.ts';
import { renderError, type Surface } from '../errors/render.ts';
import type { RouteDefinition } from '../routes/route.ts';

/**
 * The OpenAPI 3.1 document, generated from the route table: every visible route with its request schemas (the
 * very objects its validator was compiled from), its declared responses, and one example per catalogue error it
 * can answer with, rendered by the surface's own renderer. Nothing here is written by hand per endpoint.
 */

type Json = Record<string, unknown>;

export interface OpenApiDocument {
  openapi: '3.1.0';
  info: { title: string; version: string; description: string };
  servers: Array<{ url: string }>;
  tags: Array<{ name: string }>;
  paths: Record<string, Record<string, Operation>>;
  components: { securitySchemes: Record<string, Json> };
  'x-error-catalogue': ErrorCatalogueEntry[];
}

export interface Operation {
  operationId: string;
  summary: string;
  tags: string[];
  security: Array<Record<string, string[]>>;
  parameters?: Json[];
  requestBody?: { required: true; content: Record<string, { schema: Json }> };
  responses: Record<string, OperationResponse>;
  'x-error-codes'?: string[];
}

export interface OperationResponse {
  description: string;
  content?: Record<
    string,
    { schema?: Json; examples?: Record<string, { summary: string; description: string; value: unknown }> }
  >;
}

export interface ErrorCatalogueEntry {
  code: string;
  surface: 'client-token' | 'partner-api';
  status: number;
  message: string;
  solution: string;
}

/** A TypeBox schema as plain JSON Schema (TypeBox's markers are symbols, which JSON drops). */
export const toJsonSchema = (schema: TSchema): Json => JSON.parse(JSON.stringify(schema)) as Json;

/** Which surface a catalogue code is answered on: ER… on the partner API, named rules on the client-token surface. */
export const surfaceOfCode = (code: ErrorCode): ErrorCatalogueEntry['surface'] =>
  code.startsWith('ER') ? 'partner-api' : 'client-token';

const hmacScheme = {
  HmacApiKey: { type: 'apiKey', in: 'header', name: 'X-SCX-API-KEY', description: "The credential's public api key." },
  HmacSignature: {
    type: 'apiKey',
    in: 'header',
    name: 'X-SCX-SIGNED',
    description:
      'base64(HMAC-SHA256(key = base64decode(secret), message = timestamp + METHOD + path + body)): the path with its query string as sent, the raw body exactly as sent (`{}` when there is none). A signature is accepted once.',
  },
  HmacTimestamp: {
    type: 'apiKey',
    in: 'header',
    name: 'X-SCX-TIMESTAMP',
    description: 'Unix time in whole seconds; within 60 s of server time.',
  },
  HmacPassphrase: {
    type: 'apiKey',
    in: 'header',
    name: 'X-SCX-PASSPHRASE',
    description: "The credential's passphrase.",
  },
};

export const securitySchemes: Record<string, Json> = {
  ...hmacScheme,
  PartnerBearer: {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description: 'A partner JWT from POST /api/v1/authenticate (1 hour). Exactly one of this or X-Api-Key.',
  },
  PartnerApiKey: {
    type: 'apiKey',
    in: 'header',
    name: 'X-Api-Key',
    description: 'A partner API key. Exactly one of this or a partner bearer token.',
  },
  UserAuthorization: {
    type: 'apiKey',
    in: 'header',
    name: 'User-Authorization',
    description: '`Bearer <user JWT>` from POST /api/v1/user/login. With User-Identifier too, both must name one user.',
  },
  UserIdentifier: {
    type: 'apiKey',
    in: 'header',
    name: 'User-Identifier',
    description: 'An identifier the partner linked to the user with POST /api/v1/user/register-identifier.',
  },
};

const partnerMethods = [{ PartnerBearer: [] }, { PartnerApiKey: [] }];
const userMethods = [{ UserAuthorization: [] }, { UserIdentifier: [] }, { UserAuthorization: [], UserIdentifier: [] }];

function securityOf(route: RouteDefinition): Operation['security'] {
  switch (route.security) {
    case 'hmac':
      return [{ HmacApiKey: [], HmacSignature: [], HmacTimestamp: [], HmacPassphrase: [] }];
    case 'partner':
      return partnerMethods;
    case 'partner+user':
      return partnerMethods.flatMap((partner) => userMethods.map((user) => ({ ...partner, ...user })));
    default:
      return [];
  }
}

/** `/api/v1/user/:id` → `/api/v1/user/{id}`. */
export const openApiPath = (url: string) => url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

const operationId = (route: RouteDefinition) =>
  route.method.toLowerCase() +
  openApiPath(route.url)
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((word) => word[0]?.toUpperCase() + word.slice(1))
    .join('');

const errorShapes = {
  client: { type: 'object', properties: { error: { type: 'string' } }, required: ['error'] },
  validation: {
    type: 'object',
    properties: { errors: { type: 'array', items: { type: 'string' } } },
    required: ['errors'],
  },
  internal: {
    type: 'object',
    properties: { error: { const: 'internal error' }, request_id: { type: 'string' } },
    required: ['error', 'request_id'],
  },
} as const;

/** One catalogue error as the route's surface renders it: status, wire body, and the code the caller sees. */
export function renderedExample(surface: Surface, code: ErrorCode) {
  const details = code === 'invalid_request' ? ['<field>: <problem>'] : undefined;
  const rendered = renderError(surface, new HandoffError(code, details ? { details } : {}), '<request id>');
  const body = rendered.body as Json;
  const shownCode =
    surface === 'partner-api' ? (Object.keys(body.errors as Json)[0] as ErrorCode) : (code as ErrorCode);
  const schema =
    surface === 'partner-api'
      ? undefined
      : code === 'internal'
        ? errorShapes.internal
        : code === 'invalid_request'
          ? errorShapes.validation
          : errorShapes.client;
  return { status: rendered.status, body, code: shownCode, schema };
}

function responsesOf(route: RouteDefinition, partnerErrorSchema: Json): Record<string, OperationResponse> {
  const responses: Record<string, OperationResponse> = {};
  for (const [status, declared] of Object.entries(route.responses)) {
    const response: OperationResponse = { description: declared.description };
    if (declared.schema || declared.contentType) {
      const contentType = declared.contentType ?? 'application/json';
      response.content = { [contentType]: declared.schema ? { schema: toJsonSchema(declared.schema) } : {} };
    }
    responses[status] = response;
  }
  // Every catalogue error the route can answer with, under its status, as the surface renders it.
  const byStatus = new Map<number, Array<ReturnType<typeof renderedExample>>>();
  for (const code of new Set(route.errors)) {
    const example = renderedExample(route.surface, code);
    byStatus.set(example.status, [...(byStatus.get(example.status) ?? []), example]);
  }
  for (const [status, examples] of [...byStatus].sort(([a], [b]) => a - b)) {
    const key = String(status);
    const shapes = [...new Map(examples.map((e) => [JSON.stringify(e.schema), e.schema])).values()];
    const derived = shapes[0] === undefined ? partnerErrorSchema : shapes.length === 1 ? shapes[0] : { oneOf: shapes };
    const existing = responses[key];
    const content = existing?.content?.['application/json'];
    responses[key] = {
      description: existing?.description ?? examples.map((e) => catalogue[e.code].message).join(' / '),
      content: {
        'application/json': {
          schema: content?.schema ?? (derived as Json),
          examples: Object.fromEntries(
            examples.map((e) => [
              e.code,
              {
                summary: `${e.code}: ${catalogue[e.code].message}`,
                description: catalogue[e.code].solution,
                value: e.body,
              },
            ]),
          ),
        },
      },
    };
  }
  return Object.fromEntries(Object.entries(responses).sort(([a], [b]) => Number(a) - Number(b)));
}

function queryParameters(schema: TSchema): Json[] {
  const json = toJsonSchema(schema) as { properties?: Record<string, Json>; required?: string[] };
  return Object.entries(json.properties ?? {}).map(([name, property]) => ({
    name,
    in: 'query',
    required: (json.required ?? []).includes(name),
    schema: property,
  }));
}

const description = `Handoff mints short-lived credentials a partner platform's backend requests for one of its end users:
client access tokens (\`POST /client_auth_token\`, HMAC-signed requests) and one-time login tokens for the hosted
pages (\`GET /api/v1/user/login-token\`, partner-API authentication).

Errors of the client-token surface are \`{"error": "<message>"}\` (validation: \`{"errors": ["<field>: <problem>", …]}\`);
errors of the partner API are \`{"errors": {"<CODE>": {"code", "message", "solution"}}}\`. Every code, with its status,
message and solution, is listed in \`x-error-catalogue\` and on the reference page at \`/docs\`.`;

export interface DocumentOptions {
  /** The server's public URL. */
  serverUrl: string;
  version: string;
  /** The partner API's error body schema (one shape for every code). */
  partnerErrorSchema: TSchema;
}

export function buildOpenApiDocument(routes: readonly RouteDefinition[], options: DocumentOptions): OpenApiDocument {
  const partnerErrorSchema = toJsonSchema(options.partnerErrorSchema);
  const paths: OpenApiDocument['paths'] = {};
  const tags: string[] = [];
  for (const route of routes) {
    if (route.hidden) continue;
    if (!tags.includes(route.tag)) tags.push(route.tag);
    const operation: Operation = {
      operationId: operationId(route),
      summary: route.summary,
      tags: [route.tag],
      security: securityOf(route),
      responses: responsesOf(route, partnerErrorSchema),
    };
    if (route.query) operation.parameters = queryParameters(route.query);
    if (route.body) {
      operation.requestBody = { required: true, content: { 'application/json': { schema: toJsonSchema(route.body) } } };
    }
    if (route.errors.length > 0) {
      operation['x-error-codes'] = [...new Set(route.errors.map((code) => renderedExample(route.surface, code).code))];
    }
    const path = openApiPath(route.url);
    paths[path] = { ...paths[path], [route.method.toLowerCase()]: operation };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Handoff', version: options.version, description },
    servers: [{ url: options.serverUrl }],
    tags: tags.map((name) => ({ name })),
    paths,
    components: { securitySchemes },
    'x-error-catalogue': (Object.keys(catalogue) as ErrorCode[]).map((code) => ({
      code,
      surface: surfaceOfCode(code),
      ...catalogue[code],
    })),
  };
}
