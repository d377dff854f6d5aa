import packageJson from '../../package.json' with { type: 'json' };
import type { Config } from '../config.ts';
import { ApiErrorResponse } from '../routes/partner-api/schemas.ts';
import { buildOpenApiDocument } from './document.ts';
import { renderReferencePage } from './reference-page.ts';

export interface PublishedReference {
  /** The OpenAPI document, serialised once. */
  json: string;
  /** The /docs page. */
  html: string;
}

const published = new WeakMap<Config, Promise<PublishedReference>>();

/**
 * The document and reference page of this server, built at the first request and kept for the process's life:
 * they depend only on the route table and the public URL. The route table is imported lazily because it
 * contains the routes that serve these (a load-time import would be a cycle).
 */
export function publishedReference(config: Config): Promise<PublishedReference> {
  let reference = published.get(config);
  if (!reference) {
    reference = import('../routes/index.ts').then(({ routes }) => {
      const document = buildOpenApiDocument(routes, {
        serverUrl: config.publicUrl,
        version: packageJson.version,
        partnerErrorSchema: ApiErrorResponse,
      });
      return { json: JSON.stringify(document), html: renderReferencePage(document) };
    });
    // A failure is not cached: the next request tries again.
    reference.catch(() => published.delete(config));
    published.set(config, reference);
  }
  return reference;
}
