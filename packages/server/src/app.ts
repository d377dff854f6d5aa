import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import type { AppContext } from './context.ts';
import { DependencyError, HandoffError } from './errors/catalogue.ts';
import { renderError, type Surface, toHandoffError } from './errors/render.ts';
import { routes as allRoutes } from './routes/index.ts';
import type { RouteDefinition } from './routes/route.ts';
import { isDatabaseUnavailable } from './store/database-errors.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** The body exactly as received: what the HMAC signature covers. */
    rawBody: Buffer | undefined;
  }
  interface FastifyContextConfig {
    surface?: Surface;
  }
}

const wellFormedRequestId = /^[A-Za-z0-9._:-]{1,128}$/;

/** Which error shape an unmatched or failed request gets when its route does not say. */
const surfaceOfUrl = (url: string): Surface => (url.startsWith('/api/') ? 'partner-api' : 'client-token');

/** Builds the HTTP app from its parts. No I/O here: the context arrives ready. */
export function buildApp(ctx: AppContext, routes: readonly RouteDefinition[] = allRoutes): FastifyInstance {
  const app = Fastify({
    loggerInstance: ctx.logger as FastifyBaseLogger,
    // One line per request comes from our onResponse hook (path only, never the query string).
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: ctx.config.bodyLimitBytes,
    trustProxy: ctx.config.trustProxy,
    // Draining requests are answered by our own hook below, in the catalogue's shape.
    return503OnClosing: false,
    // Requests too broken to reach a route (bad request line, oversized headers) still get a catalogue error.
    clientErrorHandler: (error, socket) => {
      if ((error as NodeJS.ErrnoException).code === 'ECONNRESET' || socket.destroyed) return;
      const code = (error as NodeJS.ErrnoException).code;
      const rendered = renderError(
        'client-token',
        new HandoffError(
          code === 'HPE_HEADER_OVERFLOW'
            ? 'headers_too_large'
            : code === 'ERR_HTTP_REQUEST_TIMEOUT'
              ? 'request_timeout'
              : 'malformed_http',
        ),
        'none',
      );
      const body = JSON.stringify(rendered.body);
      if (socket.writable) {
        socket.write(
          `HTTP/1.1 ${rendered.status} ${STATUS_CODES[rendered.status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
        );
      }
      socket.destroy();
    },
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && wellFormedRequestId.test(given) ? given : randomUUID();
    },
  });

  // Bodies stay raw bytes: signatures cover them exactly as sent, and each route parses what it accepts.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (request, body, done) => {
    request.rawBody = body as Buffer;
    done(null, undefined);
  });
  app.decorateRequest('rawBody', undefined);

  // Once shutdown begins, requests still arriving on kept-alive connections are told to go elsewhere.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
    // server.close() only drops connections idle at that instant; one whose in-flight answer ends later would be
    // held open until its keep-alive timeout (72 s), so keep dropping the idle ones until the server has closed.
    const sweep = setInterval(() => app.server.closeIdleConnections(), 50);
    sweep.unref();
    app.server.once('close', () => clearInterval(sweep));
  });
  // Hooks on every request take fastify's callback form: no promise per hook on the hot path.
  app.addHook('onRequest', (_request, _reply, done) => {
    if (!closing) return done();
    done(new HandoffError('unavailable', { message: 'service unavailable: shutting down' }));
  });

  app.addHook('onSend', (request, reply, payload, done) => {
    reply.header('x-request-id', request.id);
    // Every answer sent while draining, in-flight ones included, tells the client not to reuse the connection.
    if (closing) reply.header('connection', 'close');
    done(null, payload);
  });

  const logRequests = ctx.logger.isLevelEnabled('info');
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    const status = reply.statusCode;
    ctx.metrics.httpRequests.inc({ method: request.method, route, status });
    ctx.metrics.httpDuration.observe({ method: request.method, route }, reply.elapsedTime / 1000);
    // Path only: query strings can carry one-time tokens.
    if (logRequests) {
      request.log.info(
        { method: request.method, route, status, ms: Math.round(reply.elapsedTime * 10) / 10 },
        'request',
      );
    }
    done();
  });

  app.setErrorHandler(async (error, request, reply) => {
    const surface = request.routeOptions.config.surface ?? surfaceOfUrl(request.url);
    const handoffError = toHandoffError(error);
    if (handoffError.code === 'internal') request.log.error({ err: error }, 'unhandled error');
    const dependency =
      error instanceof DependencyError ? error.dependency : isDatabaseUnavailable(error) ? 'database' : undefined;
    if (dependency) {
      ctx.metrics.dependencyErrors.inc({ dependency });
      request.log.warn({ dependency, err: (error as Error).cause ?? error }, 'dependency unavailable');
    }
    ctx.metrics.tokensRejected.inc({ surface, reason: handoffError.code });
    const rendered = renderError(surface, handoffError, request.id);
    return reply.code(rendered.status).headers(rendered.headers).send(rendered.body);
  });

  app.setNotFoundHandler(async (request, reply) => {
    const rendered = renderError(surfaceOfUrl(request.url), new HandoffError('not_found'), request.id);
    return reply.code(rendered.status).send(rendered.body);
  });

  for (const route of routes) {
    app.route({
      method: route.method,
      url: route.url,
      config: { surface: route.surface },
      handler: (request, reply) => route.handler(request, reply, ctx),
    });
  }
  return app;
}
