// The part of autocannon's API the fallback load generator uses (the package ships no types).
declare module 'autocannon' {
  interface AutocannonResult {
    requests: { total: number };
    duration: number;
    latency: { p50: number; p99: number };
    non2xx: number;
    errors: number;
    timeouts: number;
  }
  export default function autocannon(options: Record<string, unknown>): Promise<AutocannonResult>;
}

// The part of node-oidc-provider the peer target uses (types live in a separate package, not installed).
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http';
  export default class Provider {
    constructor(issuer: string, configuration: Record<string, unknown>);
    callback(): (request: IncomingMessage, response: ServerResponse) => void;
  }
}
