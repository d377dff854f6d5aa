/** The SDK experiences a client access token can open, in the contract's order. */
export const permissions = [
  'onboarding',
  'update-participant',
  'csp-active',
  'csp-recovery',
  'fiat-deposits',
  'fiat-withdrawals',
  'crypto-withdrawals',
  'crypto-buy',
  'crypto-sell',
  'fwc',
  'participant-profile',
  'crypto-account-link',
  'crypto-payouts',
  'crypto-pay',
  'fiat-account-link',
] as const;

export type Permission = (typeof permissions)[number];

export const isPermission = (value: unknown): value is Permission =>
  typeof value === 'string' && (permissions as readonly string[]).includes(value);
