import type { TSchema } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../context.ts';
import type { ErrorCode } from '../errors/catalogue.ts';
import type { Surface } from '../errors/render.ts';

/**
 * One route, as data: the app registers it and the OpenAPI document is generated from the same object, so the
 * two cannot drift apart.
 */
export interface RouteDefinition {
  method: 'GET' | 'POST' | 'HEAD';
  url: string;
  surface: Surface;
  summary: string;
  tag: string;
  /** How the caller authenticates, for the OpenAPI document. */
  security?: 'hmac' | 'partner' | 'partner+user';
  body?: TSchema;
  query?: TSchema;
  responses: Record<number, { description: string; schema?: TSchema; contentType?: string }>;
  /** Catalogue errors this route can answer with. */
  errors: readonly ErrorCode[];
  /** Hidden from the OpenAPI document (operational endpoints are documented, pages are not). */
  hidden?: boolean;
  handler(request: FastifyRequest, reply: FastifyReply, ctx: AppContext): Promise<unknown>;
}

export const defineRoute = (route: RouteDefinition): RouteDefinition => route;
