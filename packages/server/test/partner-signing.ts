import { createHmac } from 'node:crypto';

// A partner backend's side of the HMAC contract, shared by the tests and the bench.

export interface Credential {
  api_key: string;
  secret: string;
  passphrase: string;
}

/** Signs like a partner's backend would, written from the contract independently of the server's code. */
export function signHeaders(
  credential: Credential,
  method: string,
  path: string,
  body: string | undefined,
  timestamp: number,
): Record<string, string> {
  const signature = createHmac('sha256', Buffer.from(credential.secret, 'base64'))
    .update(`${timestamp}${method.toUpperCase()}${path}${body ?? '{}'}`)
    .digest('base64');
  return {
    'x-scx-api-key': credential.api_key,
    'x-scx-signed': signature,
    'x-scx-timestamp': String(timestamp),
    'x-scx-passphrase': credential.passphrase,
  };
}
