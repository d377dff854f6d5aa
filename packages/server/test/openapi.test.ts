import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import SwaggerParser from '@apidevtools/swagger-parser';
import type { NewPartnerAccount } from '../src/admin/accounts.ts';
import { catalogue, type ErrorCode } from '../src/errors/catalogue.ts';
import { type OpenApiDocument, openApiPath, toJsonSchema } from '../src/openapi/document.ts';
import { publishedReference } from '../src/openapi/published.ts';
import { routes } from '../src/routes/index.ts';
import { signedRequest, startTestApp, storeName, type TestApp } from './harness.ts';

type Json = Record<string, unknown>;

/**
 * The routes fastify actually registered, read back from its router tree (`printRoutes`): each line is a path
 * segment under its parent (four columns per level) with the methods it answers.
 */
function registeredRoutes(tree: string): Array<{ method: string; path: string }> {
  const found: Array<{ method: string; path: string }> = [];
  const stack: string[] = [];
  for (const line of tree.split('\n')) {
    const match = /^((?:[│ ] {3})*)[└├]── (.+?)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!match) continue;
    const depth = (match[1] as string).length / 4;
    stack.length = depth;
    stack.push(match[2] as string);
    for (const method of match[3]?.split(', ') ?? []) found.push({ method, path: stack.join('') });
  }
  return found;
}

/** The 400 messages of either surface, one per problem. */
function validationMessages(surface: string, body: Json): string[] {
  if (surface === 'client-token') return body.errors as string[];
  const entry = (body.errors as Record<string, { code: string; message: string }>).ER900;
  assert.ok(entry, JSON.stringify(body));
  return entry.message.replace(/^Request is invalid\. /, '').split('; ');
}

/** A value of the wrong JSON type for a schema, so the validator must name the field. */
const wrongTypeFor = (schema: Json): unknown => (schema.type === 'string' ? 12345 : 'not-the-right-type');

describe(`OpenAPI document (${storeName})`, () => {
  let t: TestApp;
  let partner: NewPartnerAccount;
  let document: OpenApiDocument;

  before(async () => {
    t = await startTestApp();
    partner = await t.createPartner({ platformCode: 'DOCS01' });
    const response = await t.app.inject({ method: 'GET', url: '/openapi.json' });
    assert.equal(response.statusCode, 200);
    assert.match(String(response.headers['content-type']), /^application\/json/);
    document = response.json();
  });
  after(() => t.close());

  test('is a valid OpenAPI 3.1 document (swagger-parser)', async () => {
    assert.equal(document.openapi, '3.1.0');
    await SwaggerParser.validate(structuredClone(document) as never);
    assert.deepEqual(document.servers, [{ url: 'http://handoff.test' }]);
  });

  test('describes exactly the routes fastify registered (HEAD twins of GET and hidden pages aside)', () => {
    const registered = registeredRoutes(t.app.printRoutes());
    const gets = new Set(registered.filter((r) => r.method === 'GET').map((r) => r.path));
    const hidden = new Set(routes.filter((r) => r.hidden).map((r) => `${r.method} ${r.url}`));
    // Sanity of the tree reading: known routes, hidden ones included, are found with their full paths.
    assert.ok(registered.some((r) => r.method === 'GET' && r.path === '/api/v1/user/login-token'));
    assert.ok(registered.some((r) => hidden.has(`${r.method} ${r.path}`)));
    const served = registered
      .filter((r) => !(r.method === 'HEAD' && gets.has(r.path)) && !hidden.has(`${r.method} ${r.path}`))
      .map((r) => `${r.method} ${openApiPath(r.path)}`)
      .sort();
    const documented = Object.entries(document.paths)
      .flatMap(([path, methods]) => Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`))
      .sort();
    assert.deepEqual(documented, served);
    for (const entry of documented) {
      const [method, url] = entry.split(' ') as [string, string];
      assert.ok(t.app.hasRoute({ method, url }), `${entry} is served`);
    }
  });

  test('every documented error code is in the catalogue with the status it is documented under', () => {
    let examples = 0;
    for (const [path, methods] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(methods)) {
        for (const [status, response] of Object.entries(operation.responses)) {
          for (const [code, example] of Object.entries(response.content?.['application/json']?.examples ?? {})) {
            const entry = catalogue[code as ErrorCode];
            assert.ok(entry, `${method} ${path}: ${code} is a catalogue code`);
            assert.equal(Number(status), entry.status, `${method} ${path}: ${code}`);
            assert.equal(example.summary, `${code}: ${entry.message}`);
            assert.equal(example.description, entry.solution);
            examples++;
          }
        }
        for (const code of operation['x-error-codes'] ?? []) {
          const status = String(catalogue[code as ErrorCode].status);
          assert.ok(operation.responses[status]?.content?.['application/json']?.examples?.[code], `${path} ${code}`);
        }
      }
    }
    assert.ok(examples > 100, `${examples} error examples`);
    // The whole catalogue, both surfaces, with status, message and solution.
    assert.deepEqual(
      document['x-error-catalogue'].map((e) => [e.code, e.status, e.message, e.solution]),
      Object.entries(catalogue).map(([code, e]) => [code, e.status, e.message, e.solution]),
    );
    for (const code of ['ER700', 'ER806', 'ER333', 'ER999', 'bad_signature', 'replay']) {
      assert.ok(document['x-error-catalogue'].some((e) => e.code === code));
    }
  });

  test('request schemas are the objects the routes validate with', () => {
    let bodies = 0;
    for (const route of routes.filter((r) => !r.hidden)) {
      const operation = document.paths[openApiPath(route.url)]?.[route.method.toLowerCase()];
      assert.ok(operation, `${route.method} ${route.url}`);
      const documented = operation.requestBody?.content['application/json']?.schema;
      assert.deepEqual(documented, route.body ? toJsonSchema(route.body) : undefined, `${route.method} ${route.url}`);
      if (route.body) bodies++;
    }
    assert.ok(bodies >= 10);
  });

  // Drift, observed from outside: the live validator must require exactly the documented required fields, know
  // every documented field, and refuse any other.
  test('the running validator agrees with every documented request schema', async () => {
    for (const [path, methods] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(methods)) {
        const schema = operation.requestBody?.content['application/json']?.schema as
          | { properties: Record<string, Json>; required?: string[] }
          | undefined;
        if (!schema) continue;
        const route = routes.find((r) => r.url === path && r.method.toLowerCase() === method);
        assert.ok(route);
        const send = async (body: Json) => {
          const response =
            route.security === 'hmac'
              ? await signedRequest(t, partner.hmac, path, body)
              : await t.app.inject({
                  method: 'POST',
                  url: path,
                  headers: {
                    'content-type': 'application/json',
                    ...(route.security ? { 'x-api-key': partner.api_key } : {}),
                  },
                  payload: JSON.stringify(body),
                });
          assert.equal(response.statusCode, 400, `${path}: ${response.body}`);
          return validationMessages(route.surface, response.json());
        };

        const missing = (await send({})).filter((m) => m.endsWith(': is required'));
        assert.deepEqual(
          missing.map((m) => m.replace(/: is required$/, '')).sort(),
          [...(schema.required ?? [])].sort(),
          `${path}: required fields`,
        );

        const wrong = Object.fromEntries(
          Object.entries(schema.properties).map(([name, property]) => [name, wrongTypeFor(property)]),
        );
        const messages = await send({ ...wrong, undocumented_field: true });
        for (const name of Object.keys(schema.properties)) {
          assert.ok(!messages.includes(`${name}: is not a known field`), `${path}: ${name} is known to the validator`);
          assert.ok(
            messages.some((m) => m.startsWith(`${name}: `)),
            `${path}: ${name} is type-checked (${messages})`,
          );
        }
        assert.ok(messages.includes('undocumented_field: is not a known field'), `${path}: ${messages}`);
      }
    }
  });

  test('/docs is a readable page, rendered without script under a hash-pinned stylesheet', async () => {
    const response = await t.app.inject({ method: 'GET', url: '/docs' });
    assert.equal(response.statusCode, 200);
    assert.match(String(response.headers['content-type']), /^text\/html/);
    const html = response.body;
    assert.doesNotMatch(html, /<script|https?:\/\/(?!handoff\.test)[a-z]/i);
    const style = /<style>([\s\S]*?)<\/style>/.exec(html)?.[1] as string;
    const hash = createHash('sha256').update(style).digest('base64');
    const csp = String(response.headers['content-security-policy']);
    assert.match(csp, /default-src 'none'/);
    assert.ok(csp.includes(`style-src 'sha256-${hash}'`), csp);
    assert.doesNotMatch(html, / style=/);
    for (const path of Object.keys(document.paths)) assert.ok(html.includes(`<code>${path}</code>`), path);
    for (const code of Object.keys(catalogue)) assert.ok(html.includes(`id="error-${code}"`), code);
    assert.ok(html.includes('permissions'));
  });

  test('is built once, not per request', async () => {
    assert.equal(publishedReference(t.ctx.config), publishedReference(t.ctx.config));
    const [a, b] = await Promise.all([
      t.app.inject({ method: 'GET', url: '/openapi.json' }),
      t.app.inject({ method: 'GET', url: '/openapi.json' }),
    ]);
    assert.equal(a.body, b.body);
  });
});
