import { type Static, Type } from '@sinclair/typebox';
import type { ErrorCode } from '../../errors/catalogue.ts';

/** Request and response schemas of the partner API: validation, types and the OpenAPI document. */

const closed = { additionalProperties: false } as const;
const secret = (description: string) => Type.String({ minLength: 1, maxLength: 1024, description });

export const ApiErrorResponse = Type.Object({
  errors: Type.Record(
    Type.String(),
    Type.Object({
      code: Type.String(),
      message: Type.String(),
      solution: Type.String(),
      requestId: Type.Optional(Type.String()),
    }),
  ),
});

export const AuthenticateRequest = Type.Object(
  { username: Type.String({ minLength: 1, maxLength: 254 }), password: secret('The partner password') },
  closed,
);
export type AuthenticateRequest = Static<typeof AuthenticateRequest>;

export const RefreshRequest = Type.Object({ refreshToken: secret('A refresh token, used once') }, closed);
export type RefreshRequest = Static<typeof RefreshRequest>;

export const TokenPairResponse = Type.Object({
  token: Type.String({ description: 'JWT, 1 hour' }),
  refreshToken: Type.String({ description: 'One-time refresh token, 30-day sliding lifetime' }),
});

export const CreateUserRequest = Type.Object(
  {
    emailAddress: Type.String({ format: 'email', maxLength: 254 }),
    password: Type.Optional(Type.String({ minLength: 8, maxLength: 256 })),
    firstName: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    lastName: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    phoneNumber: Type.Optional(Type.String({ pattern: '^\\+[1-9][0-9]{1,14}$' })),
  },
  closed,
);
export type CreateUserRequest = Static<typeof CreateUserRequest>;

export const UserResponse = Type.Object({
  uuid: Type.String({ format: 'uuid' }),
  participantCode: Type.String(),
  emailAddress: Type.String(),
  status: Type.String(),
});

export const UserLoginRequest = Type.Object(
  { emailAddress: Type.String({ minLength: 1, maxLength: 254 }), password: secret('The user password') },
  closed,
);
export type UserLoginRequest = Static<typeof UserLoginRequest>;

export const UserLoginResponse = Type.Object({
  token: Type.String(),
  refreshToken: Type.String(),
  identifier: Type.Optional(Type.String()),
});

export const RegisterIdentifierRequest = Type.Object(
  { identifier: Type.String({ maxLength: 1024 }), returnUrl: Type.String({ maxLength: 2048 }) },
  closed,
);
export type RegisterIdentifierRequest = Static<typeof RegisterIdentifierRequest>;

export const LoginTokenResponse = Type.Object({
  uuid: Type.String({ format: 'uuid' }),
  token: Type.String({ description: 'One-time login token, URL-safe, 256 bits' }),
  expiryDate: Type.String({ description: 'UTC, YYYY-MM-DDTHH:MM:SSZ' }),
});

export const LoginWithTokenRequest = Type.Object(
  { uuid: Type.String({ maxLength: 64 }), token: Type.String({ maxLength: 256 }) },
  closed,
);
export type LoginWithTokenRequest = Static<typeof LoginWithTokenRequest>;

export const LoginWithTokenResponse = Type.Object({
  uuid: Type.String(),
  token: Type.String(),
  refreshToken: Type.String(),
});

export const SystemInfoResponse = Type.Object({
  urls: Type.Record(Type.String(), Type.String()),
  privateUrls: Type.Object({ kyc: Type.String(), upgrade: Type.String(), support: Type.String() }),
});

/** Errors every partner-authenticated route can answer with. */
export const partnerAuthErrors: readonly ErrorCode[] = [
  'ER800',
  'ER801',
  'ER802',
  'ER803',
  'ER805',
  'ER806',
  'ER813',
  'ER901',
  'ER902',
  'ER903',
  'ER904',
  'ER950',
  'ER999',
];

/** Errors of user authentication (on top of partner authentication). */
export const userAuthErrors: readonly ErrorCode[] = [
  'ER700',
  'ER701',
  'ER702',
  'ER703',
  'ER704',
  'ER705',
  'ER707',
  'ER709',
];

export const errorResponses = {
  400: { description: 'Invalid request or authentication headers', schema: ApiErrorResponse },
  401: { description: 'Authentication failed', schema: ApiErrorResponse },
  403: { description: 'Not allowed', schema: ApiErrorResponse },
  429: { description: 'Rate limited; see Retry-After', schema: ApiErrorResponse },
  503: { description: 'A dependency is unavailable', schema: ApiErrorResponse },
} as const;
