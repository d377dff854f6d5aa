/** `@handoff/sdk/contract`: the wire schemas and types both the server and the SDK are built on. */
export * from './client-tokens.ts';
export * from './partner-api.ts';
export * from './permissions.ts';
