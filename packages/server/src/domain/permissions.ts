import type { Permission } from '@handoff/sdk/contract';
import type { ParticipantStatus } from '../store/schema.ts';

/** The permission list is part of the wire contract, shared with the SDK. */
export { type Permission, permissions } from '@handoff/sdk/contract';

/** What each participant status may be granted; absent = everything (approved). */
const allowedByStatus: Partial<Record<ParticipantStatus, readonly Permission[]>> = {
  submitted: ['onboarding', 'update-participant', 'participant-profile'],
  pending_approval: ['onboarding', 'update-participant', 'participant-profile'],
  locked: ['participant-profile', 'csp-recovery'],
  pending_unlock: ['participant-profile', 'csp-recovery'],
  pending_disable: ['participant-profile', 'csp-recovery'],
  rejected: [],
  disabled: [],
  divested: [],
  closed: [],
};

/** The first requested permission the status does not allow, if any. */
export function firstDisallowedPermission(
  status: ParticipantStatus,
  requested: readonly Permission[],
): Permission | undefined {
  const allowed = allowedByStatus[status];
  if (!allowed) return undefined;
  return requested.find((p) => !allowed.includes(p));
}

/** Token lifetime: 1 h, 5 min when money leaves; a partner may configure shorter, never longer. */
export function clientTokenLifetimeSeconds(requested: readonly Permission[], partnerTtlSeconds?: number): number {
  const ceiling = requested.some((p) => p === 'crypto-withdrawals' || p === 'crypto-payouts') ? 300 : 3600;
  return partnerTtlSeconds && partnerTtlSeconds > 0 ? Math.min(ceiling, partnerTtlSeconds) : ceiling;
}

/** Which details object each permission needs, and which permissions a details object is used by. */
const detailsUsers = {
  withdrawal_details: ['crypto-withdrawals', 'crypto-payouts'],
  deposit_details: ['fwc'],
  payment_details: ['crypto-pay'],
  custom_fees_and_spreads: ['crypto-buy', 'crypto-sell'],
} as const satisfies Record<string, readonly Permission[]>;

export interface VariantInput {
  permissions: readonly Permission[];
  withdrawal_details?: unknown;
  deposit_details?: unknown;
  payment_details?: unknown;
  custom_fees_and_spreads?: { crypto_buy?: unknown; crypto_sell?: unknown };
}

/** The schema variants: details required by a permission, and details sent without one that uses them. */
export function variantErrors(body: VariantInput): string[] {
  const errors: string[] = [];
  const has = (p: Permission) => body.permissions.includes(p);
  for (const [field, users] of Object.entries(detailsUsers) as [keyof typeof detailsUsers, readonly Permission[]][]) {
    const present = body[field] !== undefined;
    const needed = users.filter(has);
    if (field !== 'custom_fees_and_spreads' && needed.length > 0 && !present) {
      errors.push(`${field}: is required with permission ${needed.join(', ')}`);
    }
    if (present && needed.length === 0) {
      errors.push(`${field}: is only allowed with permission ${users.join(' or ')}`);
    }
  }
  const fees = body.custom_fees_and_spreads;
  if (fees) {
    if (fees.crypto_buy !== undefined && !has('crypto-buy')) {
      errors.push('custom_fees_and_spreads.crypto_buy: is only allowed with permission crypto-buy');
    }
    if (fees.crypto_sell !== undefined && !has('crypto-sell')) {
      errors.push('custom_fees_and_spreads.crypto_sell: is only allowed with permission crypto-sell');
    }
  }
  return errors;
}
