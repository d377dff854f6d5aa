import { createHash } from 'node:crypto';
import type { ErrorCatalogueEntry, OpenApiDocument, Operation } from './document.ts';

/**
 * The human-readable API reference at /docs, rendered on the server from the OpenAPI document: no script, no
 * CDN, one inline stylesheet allowed by its hash in the page's Content-Security-Policy.
 */

type Json = Record<string, unknown>;

const escapeHtml = (value: unknown): string =>
  String(value).replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string,
  );

/** Escaped text with backticked spans as `<code>`. */
const inline = (text: string) =>
  escapeHtml(text.replace(/\n/g, ' ')).replace(/`([^`]+)`/g, (_, code: string) => `<code>${code}</code>`);

const prose = (text: string) =>
  text
    .split(/\n{2,}/)
    .map((paragraph) => `<p>${inline(paragraph)}</p>`)
    .join('\n');

const codeLink = (code: string) => `<a href="#error-${escapeHtml(code)}"><code>${escapeHtml(code)}</code></a>`;

const styles = `
:root{color-scheme:light dark;--fg:#1b1f24;--muted:#57606a;--line:#d0d7de;--bg:#fff;--code:#f6f8fa;--accent:#0b5cad}
@media (prefers-color-scheme:dark){:root{--fg:#e6edf3;--muted:#9198a1;--line:#30363d;--bg:#0d1117;--code:#161b22;--accent:#4493f8}}
*{box-sizing:border-box}
body{margin:0;font:15px/1.55 system-ui,-apple-system,"Segoe UI",sans-serif;color:var(--fg);background:var(--bg)}
main{max-width:68rem;margin:0 auto;padding:1.5rem 1rem 4rem}
h1{font-size:1.8rem;margin:.2rem 0}h2{margin-top:2.5rem;border-bottom:1px solid var(--line);padding-bottom:.3rem}
h3{margin:2rem 0 .4rem;font-size:1.1rem;word-break:break-all}h4{margin:1rem 0 .3rem;font-size:.95rem}
a{color:var(--accent)}code{font:13px/1.4 ui-monospace,SFMono-Regular,Menlo,monospace;background:var(--code);padding:.1rem .3rem;border-radius:4px}
nav ul{columns:2 18rem;padding-left:1.2rem}p.muted,.muted{color:var(--muted)}
.method{display:inline-block;min-width:3.6rem;text-align:center;font:600 12px/1.8 ui-monospace,monospace;border-radius:4px;margin-right:.5rem;color:#fff;background:#57606a}
.method.post{background:#1a7f37}.method.get{background:#0b5cad}
.table{overflow-x:auto}table{border-collapse:collapse;width:100%;font-size:14px}
th,td{border:1px solid var(--line);padding:.35rem .5rem;text-align:left;vertical-align:top}th{background:var(--code)}
section.op{border-top:1px solid var(--line);margin-top:1.5rem}
`;

/** The value for `style-src` in the page's CSP. */
export const styleHash = `'sha256-${createHash('sha256').update(styles).digest('base64')}'`;

export const referencePageHeaders = {
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy': `default-src 'none'; style-src ${styleHash}; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'public, max-age=300',
};

interface Field {
  name: string;
  type: string;
  required: boolean;
  rules: string[];
}

const typeOf = (schema: Json): string => {
  if (Array.isArray(schema.enum)) return 'string (enum)';
  if (schema.const !== undefined) return JSON.stringify(schema.const);
  if (schema.type === 'array') return `array of ${typeOf((schema.items as Json) ?? {})}`;
  return String(schema.type ?? 'any');
};

function rulesOf(schema: Json): string[] {
  const rules: string[] = [];
  if (Array.isArray(schema.enum)) rules.push(`one of ${schema.enum.join(', ')}`);
  const items = schema.items as Json | undefined;
  if (Array.isArray(items?.enum)) rules.push(`each one of ${items.enum.join(', ')}`);
  if (schema.format) rules.push(`format ${schema.format}`);
  if (schema.pattern) rules.push(`matches ${schema.pattern}`);
  for (const [key, label] of [
    ['minLength', 'min length'],
    ['maxLength', 'max length'],
    ['minItems', 'min items'],
    ['maxItems', 'max items'],
  ] as const) {
    if (schema[key] !== undefined) rules.push(`${label} ${schema[key]}`);
  }
  if (schema.uniqueItems) rules.push('no duplicates');
  if (schema.additionalProperties === false) rules.push('no other fields');
  if (schema.description) rules.push(String(schema.description));
  return rules;
}

/** Object properties flattened to dotted paths (`fees[].amount`), so nested bodies read as one table. */
function fieldsOf(schema: Json, prefix = ''): Field[] {
  const properties = (schema.properties ?? {}) as Record<string, Json>;
  const required = new Set((schema.required ?? []) as string[]);
  const fields: Field[] = [];
  for (const [name, property] of Object.entries(properties)) {
    const path = prefix + name;
    fields.push({ name: path, type: typeOf(property), required: required.has(name), rules: rulesOf(property) });
    if (property.type === 'object') fields.push(...fieldsOf(property, `${path}.`));
    const items = property.items as Json | undefined;
    if (property.type === 'array' && items?.type === 'object') fields.push(...fieldsOf(items, `${path}[].`));
  }
  return fields;
}

function fieldsTable(schema: Json): string {
  const fields = fieldsOf(schema);
  if (fields.length === 0) return '';
  const rows = fields
    .map(
      (f) =>
        `<tr><td><code>${escapeHtml(f.name)}</code></td><td>${escapeHtml(f.type)}</td><td>${f.required ? 'yes' : ''}</td><td>${escapeHtml(f.rules.join('; '))}</td></tr>`,
    )
    .join('');
  return `<div class="table"><table><thead><tr><th>field</th><th>type</th><th>required</th><th>rules</th></tr></thead><tbody>${rows}</tbody></table></div>`;
}

function securityText(document: OpenApiDocument, operation: Operation): string {
  if (operation.security.length === 0) return 'none';
  const header = (scheme: string) => {
    const definition = document.components.securitySchemes[scheme] as Json;
    return definition.type === 'http' ? 'Authorization: Bearer' : String(definition.name);
  };
  return operation.security
    .map((requirement) =>
      Object.keys(requirement)
        .map((scheme) => `<code>${escapeHtml(header(scheme))}</code>`)
        .join(' + '),
    )
    .join(' <span class="muted">or</span> ');
}

const anchor = (method: string, path: string) => `${method}-${path}`.replace(/[^A-Za-z0-9]+/g, '-');

function operationSection(document: OpenApiDocument, method: string, path: string, operation: Operation): string {
  const body = operation.requestBody?.content['application/json']?.schema;
  const responses = Object.entries(operation.responses)
    .map(([status, response]) => {
      const examples = Object.keys(response.content?.['application/json']?.examples ?? {});
      return `<tr><td>${escapeHtml(status)}</td><td>${escapeHtml(response.description)}</td><td>${examples.map(codeLink).join(' ')}</td></tr>`;
    })
    .join('');
  return `<section class="op" id="${anchor(method, path)}">
<h3><span class="method ${method}">${method.toUpperCase()}</span><code>${escapeHtml(path)}</code></h3>
<p>${escapeHtml(operation.summary)}</p>
<p><strong>Authentication:</strong> ${securityText(document, operation)}</p>
${body ? `<h4>Request body (JSON)</h4>${fieldsTable(body)}` : ''}
<h4>Responses</h4>
<div class="table"><table><thead><tr><th>status</th><th>meaning</th><th>error codes</th></tr></thead><tbody>${responses}</tbody></table></div>
</section>`;
}

function catalogueTable(entries: ErrorCatalogueEntry[]): string {
  const rows = entries
    .map(
      (e) =>
        `<tr id="error-${escapeHtml(e.code)}"><td><code>${escapeHtml(e.code)}</code></td><td>${e.status}</td><td>${escapeHtml(e.message)}</td><td>${escapeHtml(e.solution)}</td></tr>`,
    )
    .join('');
  return `<div class="table"><table><thead><tr><th>code</th><th>status</th><th>message</th><th>solution</th></tr></thead><tbody>${rows}</tbody></table></div>`;
}

export function renderReferencePage(document: OpenApiDocument): string {
  const operations = Object.entries(document.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, operation]) => ({ path, method, operation })),
  );
  const byTag = document.tags.map(({ name }) => ({
    name,
    operations: operations.filter((o) => o.operation.tags.includes(name)),
  }));
  const schemes = Object.entries(document.components.securitySchemes)
    .map(([name, scheme]) => {
      const header = scheme.type === 'http' ? 'Authorization: Bearer <JWT>' : String(scheme.name);
      return `<tr><td>${escapeHtml(name)}</td><td><code>${escapeHtml(header)}</code></td><td>${inline(String(scheme.description))}</td></tr>`;
    })
    .join('');
  const catalogue = document['x-error-catalogue'];
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(document.info.title)} API reference</title>
<style>${styles}</style>
</head>
<body>
<main>
<h1>${escapeHtml(document.info.title)} API reference</h1>
<p class="muted">Version ${escapeHtml(document.info.version)} · machine-readable: <a href="openapi.json">openapi.json</a> (OpenAPI ${escapeHtml(document.openapi)})</p>
${prose(document.info.description)}
<nav><h2>Endpoints</h2>
${byTag.map((tag) => `<h4>${escapeHtml(tag.name)}</h4><ul>${tag.operations.map((o) => `<li><a href="#${anchor(o.method, o.path)}">${o.method.toUpperCase()} ${escapeHtml(o.path)}</a></li>`).join('')}</ul>`).join('\n')}
<ul><li><a href="#authentication">Authentication</a></li><li><a href="#errors">Error codes</a></li></ul>
</nav>
<h2 id="authentication">Authentication</h2>
<div class="table"><table><thead><tr><th>scheme</th><th>header</th><th>how</th></tr></thead><tbody>${schemes}</tbody></table></div>
${byTag.map((tag) => `<h2>${escapeHtml(tag.name)}</h2>\n${tag.operations.map((o) => operationSection(document, o.method, o.path, o.operation)).join('\n')}`).join('\n')}
<h2 id="errors">Error codes</h2>
<h3>Partner API (<code>/api/…</code>)</h3>
<p>Body: <code>{"errors": {"&lt;CODE&gt;": {"code", "message", "solution"}}}</code>.</p>
${catalogueTable(catalogue.filter((e) => e.surface === 'partner-api'))}
<h3>Client-token surface</h3>
<p>Body: <code>{"error": "&lt;message&gt;"}</code>; the message may name the failed rule more precisely. Validation errors: <code>{"errors": ["&lt;field&gt;: &lt;problem&gt;", …]}</code>.</p>
${catalogueTable(catalogue.filter((e) => e.surface === 'client-token'))}
</main>
</body>
</html>
`;
}
