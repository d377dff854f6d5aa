/**
 * Both Handoff flows end to end with @handoff/sdk, against a throwaway local server:
 *
 *   node --import tsx examples/walkthrough.ts
 *
 * It creates a partner and a user with the operator CLI, starts `handoff serve` on a free loopback port (embedded
 * store in a temporary directory), walks through the flows below, stops the server and exits 0.
 *
 *   A. client access tokens — the platform's backend mints a JWT for an SDK module; a resource server verifies it
 *      offline; the platform revokes it; the verifier, asked to check revocation, refuses it.
 *   B. one-time login tokens — the platform logs its user in, gets a one-time login token, builds the link to a
 *      hosted private page, and (for platforms that sign the user in themselves) redeems a token for a user JWT.
 */
import {
  createClientTokenClient,
  createPartnerClient,
  HandoffApiError,
  HandoffTokenError,
  privatePageUrl,
  verifyClientAuthToken,
} from '@handoff/sdk';
import { startLocalHandoff } from './local-handoff.ts';

const user = {
  email: 'ada@example.com',
  password: 'correct horse battery staple',
  participantCode: 'ADA001',
  identifier: 'ada0lovelace0identifier0000000000000000',
};

const step = (text: string) => console.log(`- ${text}`);

const handoff = await startLocalHandoff({
  async setup(cli, partner) {
    await cli(
      ...['user', 'create', '--partner', partner.platform_code, '--email', user.email, '--password', user.password],
      ...['--participant-code', user.participantCode, '--identifier', user.identifier],
    );
  },
});
console.log(`Handoff running at ${handoff.url} for partner ${handoff.partner.platform_code}`);

try {
  // A. Client access tokens (HMAC-signed requests).
  console.log('\nA. Client access tokens');
  const tokens = createClientTokenClient({ baseUrl: handoff.url, ...toHmacOptions(handoff.partner.hmac) });
  const { token } = await tokens.createClientAuthToken({
    participant_code: user.participantCode,
    permissions: ['crypto-buy', 'participant-profile'],
    reference_id: 'walkthrough-1',
  });
  step(`minted a client access token (${token.length} characters)`);

  const verification = {
    issuer: handoff.url,
    audience: 'handoff-sdk',
    jwksUrl: `${handoff.url}/.well-known/jwks.json`,
  };
  const claims = await verifyClientAuthToken(token, verification);
  step(`verified offline: ${claims.participant_code} may ${claims.permissions.join(', ')} until ${iso(claims.exp)}`);

  const introspection = await tokens.introspect(token);
  step(`introspection: active=${introspection.active}`);

  await tokens.revokeAuthToken(token);
  step('revoked it');
  try {
    await verifyClientAuthToken(token, { ...verification, checkRevocation: tokens });
    throw new Error('a revoked token was accepted');
  } catch (error) {
    if (!(error instanceof HandoffTokenError && error.reason === 'revoked')) throw error;
    step(`the verifier, checking revocation, refuses it: ${error.message}`);
  }

  // B. One-time login tokens (partner API; the SDK authenticates and refreshes the partner JWT itself).
  console.log('\nB. One-time login tokens');
  const partner = createPartnerClient({
    baseUrl: handoff.url,
    username: handoff.partner.username,
    password: handoff.partner.password,
  });
  const info = await partner.systemInfo();
  const session = await partner.userLogin({ emailAddress: user.email, password: user.password });
  step('logged the user in with email and password');

  const login = await partner.getLoginToken({ userToken: session.token });
  step(`login token for ${login.uuid}, valid until ${login.expiryDate}`);
  step(`send the user to ${privatePageUrl(info, 'kyc', login).replace(login.token, '<token>')}`);

  const byIdentifier = await partner.getLoginToken({ identifier: user.identifier });
  const redeemed = await partner.loginWithToken({ uuid: byIdentifier.uuid, token: byIdentifier.token });
  step(`redeemed a login token (by linked identifier) for a user JWT pair of ${redeemed.uuid}`);
  try {
    await partner.loginWithToken({ uuid: byIdentifier.uuid, token: byIdentifier.token });
    throw new Error('a spent login token was accepted twice');
  } catch (error) {
    if (!(error instanceof HandoffApiError && error.code === 'ER333')) throw error;
    step(`a second redemption is refused: ${error.code} ${error.message}`);
  }

  await partner.userLogout({ userToken: session.token });
  step('logged the user out (user token and its refresh tokens revoked)');
  console.log('\nwalkthrough complete');
} finally {
  await handoff.stop();
}

function toHmacOptions(hmac: { api_key: string; secret: string; passphrase: string }) {
  return { apiKey: hmac.api_key, secret: hmac.secret, passphrase: hmac.passphrase };
}

function iso(seconds: number) {
  return new Date(seconds * 1000).toISOString();
}
