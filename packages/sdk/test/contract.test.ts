import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Static } from '@sinclair/typebox';
import * as serverPermissions from '../../server/src/domain/permissions.ts';
import { catalogue } from '../../server/src/errors/catalogue.ts';
import * as serverClientTokens from '../../server/src/routes/client-tokens/schemas.ts';
import type * as server from '../../server/src/routes/partner-api/schemas.ts';
import { ClientAuthTokenRequest, partnerApiErrorCodes, permissions, TokenRequest } from '../src/contract/index.ts';
import type * as sdk from '../src/contract/partner-api.ts';

/**
 * The SDK's contract against the server's. The client-token schemas are one set of objects (the server imports
 * the SDK's); the partner API's types are checked against the server's schemas by the compiler: `npm run
 * typecheck` fails when a field is added, removed or retyped on one side only.
 */

/** Same keys, and each type assignable to the other (so optional and required fields agree too). */
type SameKeys<A, B> = [keyof A] extends [keyof B] ? ([keyof B] extends [keyof A] ? true : false) : false;
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? SameKeys<A, B> : false) : false;
/** Answers may be narrower in the SDK (a status union where the server says string), never different in shape. */
type Narrower<Sdk, Server> = [Sdk] extends [Server] ? SameKeys<Sdk, Server> : false;

const requests: [
  Same<sdk.AuthenticateRequest, Static<typeof server.AuthenticateRequest>>,
  Same<sdk.RefreshRequest, Static<typeof server.RefreshRequest>>,
  Same<sdk.CreateUserRequest, Static<typeof server.CreateUserRequest>>,
  Same<sdk.UserLoginRequest, Static<typeof server.UserLoginRequest>>,
  Same<sdk.RegisterIdentifierRequest, Static<typeof server.RegisterIdentifierRequest>>,
  Same<sdk.LoginWithTokenRequest, Static<typeof server.LoginWithTokenRequest>>,
] = [true, true, true, true, true, true];

const answers: [
  Narrower<sdk.TokenPair, Static<typeof server.TokenPairResponse>>,
  Narrower<sdk.User, Static<typeof server.UserResponse>>,
  Narrower<sdk.UserLoginResponse, Static<typeof server.UserLoginResponse>>,
  Narrower<sdk.LoginTokenResponse, Static<typeof server.LoginTokenResponse>>,
  Narrower<sdk.LoginWithTokenResponse, Static<typeof server.LoginWithTokenResponse>>,
  Narrower<sdk.SystemInfo, Static<typeof server.SystemInfoResponse>>,
  Narrower<sdk.ApiErrorResponse, Static<typeof server.ApiErrorResponse>>,
] = [true, true, true, true, true, true, true];

test('the server validates the client-token surface with the SDK contract objects themselves', () => {
  assert.equal(serverClientTokens.ClientAuthTokenRequest, ClientAuthTokenRequest);
  assert.equal(serverClientTokens.TokenRequest, TokenRequest);
  assert.equal(serverPermissions.permissions, permissions);
  assert.ok([...requests, ...answers].every(Boolean));
});

test("the SDK knows every partner-API code of the server's catalogue", () => {
  const serverCodes = Object.keys(catalogue).filter((code) => code.startsWith('ER'));
  assert.deepEqual([...partnerApiErrorCodes].sort(), serverCodes.sort());
});
