import { type Static, Type } from '@sinclair/typebox';
import { type Permission, permissions } from './permissions.ts';

/**
 * The wire contract of the client-token surface (`/client_auth_token`, `/revoke_auth_token`, `/introspect`):
 * the server validates requests with these schemas and generates its OpenAPI document from them; the SDK types
 * its requests and responses with them. They live here so the dependency points server → SDK.
 */

const closed = { additionalProperties: false } as const;

/** A string enum as `{"enum": [...]}` (not anyOf of consts), so a bad value is one clear error. */
export const stringEnum = <const T extends readonly string[]>(values: T, options: object = {}) =>
  Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...options });
const decimal = Type.String({ format: 'decimal', maxLength: 50 });
const positiveDecimal = Type.String({ format: 'positive-decimal', maxLength: 50 });

const feeSide = Type.Object(
  {
    spread_bps: decimal,
    fees: Type.Array(
      Type.Object(
        {
          type: stringEnum(['bps', 'notional']),
          amount: decimal,
          name: Type.String({ minLength: 1, maxLength: 100 }),
        },
        closed,
      ),
      { maxItems: 20 },
    ),
  },
  closed,
);

export const ClientAuthTokenRequest = Type.Object(
  {
    participant_code: Type.Optional(Type.String({ pattern: '^[A-Z0-9]{6}$' })),
    email: Type.Optional(Type.String({ format: 'email', maxLength: 254 })),
    phone_number: Type.Optional(Type.String({ pattern: '^\\+[1-9][0-9]{1,14}$' })),
    otp_verified: Type.Optional(stringEnum(['email', 'sms'])),
    reference_id: Type.Optional(Type.String({ minLength: 1, maxLength: 50 })),
    merchant_participant_code: Type.Optional(Type.String({ minLength: 1, maxLength: 50 })),
    permissions: Type.Array(stringEnum(permissions), { minItems: 1, uniqueItems: true }),
    withdrawal_details: Type.Optional(
      Type.Object(
        {
          quoted_asset: Type.String({ minLength: 1, maxLength: 50 }),
          withdrawal_request_amount: positiveDecimal,
          external_account_id: Type.String({ minLength: 1, maxLength: 255 }),
          account_label: Type.Optional(Type.String({ maxLength: 255 })),
        },
        closed,
      ),
    ),
    deposit_details: Type.Optional(
      Type.Object(
        {
          account_label: Type.String({ minLength: 1, maxLength: 255 }),
          external_wallet_address: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
          deposit_amount: Type.Optional(positiveDecimal),
          denominated_currency: Type.Optional(stringEnum(['USD'])),
        },
        closed,
      ),
    ),
    payment_details: Type.Optional(
      Type.Object(
        {
          purchase_amount: positiveDecimal,
          denominated_currency: Type.String({ minLength: 1, maxLength: 10 }),
        },
        closed,
      ),
    ),
    client_device_info: Type.Optional(
      Type.Object(
        {
          ip_address: Type.String({ format: 'ip', maxLength: 45 }),
          location: Type.String({ pattern: '^[A-Z]{2}-[A-Z0-9]{1,3}$' }),
        },
        closed,
      ),
    ),
    custom_fees_and_spreads: Type.Optional(
      Type.Object({ crypto_buy: Type.Optional(feeSide), crypto_sell: Type.Optional(feeSide) }, closed),
    ),
  },
  closed,
);
export type ClientAuthTokenRequest = Static<typeof ClientAuthTokenRequest>;

export const ClientAuthTokenResponse = Type.Object({
  message: Type.Object({
    token: Type.String({ description: 'The client access token (JWT).' }),
    deposit_intent_id: Type.Optional(Type.String({ format: 'uuid' })),
    payment_id: Type.Optional(Type.String({ format: 'uuid' })),
  }),
});
export type ClientAuthTokenResponse = Static<typeof ClientAuthTokenResponse>;

export const TokenRequest = Type.Object({ token: Type.String({ minLength: 1, maxLength: 8192 }) }, closed);
export type TokenRequest = Static<typeof TokenRequest>;

export const IntrospectionResponse = Type.Object(
  { active: Type.Boolean() },
  { additionalProperties: true, description: 'RFC 7662: `active`, and the claims when active.' },
);
/** `{"active": false}`, or `{"active": true}` with the token's claims. */
export type IntrospectionResponse = { active: false } | ({ active: true } & ClientAuthTokenClaims);

export const ClientErrorResponse = Type.Object({ error: Type.String() });
export type ClientErrorResponse = Static<typeof ClientErrorResponse>;
export const ValidationErrorResponse = Type.Object({ errors: Type.Array(Type.String()) });
export type ValidationErrorResponse = Static<typeof ValidationErrorResponse>;

/** Every accepted request field that is not a top-level claim, plus what the server recorded for the token. */
export type ClientAuthTokenPayload = Omit<
  ClientAuthTokenRequest,
  'participant_code' | 'email' | 'phone_number' | 'permissions'
> & {
  /** Sent alongside a known participant's code. */
  email?: string;
  phone_number?: string;
  deposit_intent_id?: string;
  payment_id?: string;
};

/** The claims of a client access token (JWT header `typ: client-auth+jwt`). */
export interface ClientAuthTokenClaims {
  iss: string;
  aud: string | string[];
  iat: number;
  nbf: number;
  exp: number;
  /** ≥ 128-bit random id; what revocation remembers. */
  jti: string;
  platform_code: string;
  /** Absent on a pre-onboarding token, which carries `email` (and `phone_number`) instead. */
  participant_code?: string;
  email?: string;
  phone_number?: string;
  /** As requested, in request order. */
  permissions: Permission[];
  payload: ClientAuthTokenPayload;
}

export const clientAuthTokenType = 'client-auth+jwt';
