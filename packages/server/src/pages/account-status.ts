import type { Participant } from '../store/participants.ts';
import type { ParticipantStatus } from '../store/schema.ts';

/**
 * What the KYC and upgrade pages show, derived from the participant's status (and kind) alone: Handoff holds
 * no KYC documents and no limits, so the pages explain where the user stands and send the next step to the
 * place that can act on it (the partner's app, or support).
 */
export type Tone = 'info' | 'success' | 'warning' | 'danger';

/** The three verification steps; `reached` counts those completed, `blocked` marks a step that stopped. */
export interface Verification {
  label: string;
  tone: Tone;
  reached: 0 | 1 | 2 | 3;
  blocked: boolean;
  nextStep: string;
  action?: { href: string; label: string };
}

export const verificationSteps = [
  { title: 'Account details', detail: 'Your name and contact details.' },
  { title: 'Identity review', detail: 'Your identity document is checked.' },
  { title: 'Verified', detail: 'Your account is fully verified.' },
] as const;

const contactSupport = (topic: string) => ({ href: `/private/support?topic=${topic}`, label: 'Contact support' });

export function verificationOf(status: ParticipantStatus, platform: string): Verification {
  switch (status) {
    case 'submitted':
      return {
        label: 'Identity check needed',
        tone: 'info',
        reached: 1,
        blocked: false,
        nextStep: `Verify your identity in the ${platform} app. Have a valid photo ID ready; it takes a few minutes.`,
      };
    case 'pending_approval':
      return {
        label: 'Under review',
        tone: 'info',
        reached: 1,
        blocked: false,
        nextStep: `Nothing to do for now. Your documents are being reviewed and ${platform} will let you know the result.`,
      };
    case 'approved':
      return {
        label: 'Verified',
        tone: 'success',
        reached: 3,
        blocked: false,
        nextStep: 'You are all set. See what your verified account lets you do.',
        action: { href: '/private/upgrade', label: 'See your account tier' },
      };
    case 'rejected':
      return {
        label: 'Not approved',
        tone: 'danger',
        reached: 1,
        blocked: true,
        nextStep: 'Your verification was not approved. Contact support to learn why and what to send again.',
        action: contactSupport('verification'),
      };
    case 'locked':
    case 'pending_unlock':
      return {
        label: status === 'locked' ? 'Account locked' : 'Unlock requested',
        tone: 'warning',
        reached: 1,
        blocked: true,
        nextStep:
          status === 'locked'
            ? 'Your account is locked. Contact support to unlock it.'
            : 'Support is looking at your request to unlock the account. Nothing to do for now.',
        ...(status === 'locked' ? { action: contactSupport('verification') } : {}),
      };
    default:
      return {
        label: status === 'pending_disable' ? 'Account being closed' : 'Account closed',
        tone: 'danger',
        reached: 1,
        blocked: true,
        nextStep: 'This account can no longer be verified. Contact support if you think this is a mistake.',
        action: contactSupport('other'),
      };
  }
}

/**
 * Account tiers, derived from status and kind:
 *   restricted: locked, pending_unlock, pending_disable, disabled, divested, closed (no tier: support first)
 *   basic:      submitted, pending_approval, rejected (not verified yet)
 *   verified:   approved individual
 *   business:   approved merchant or platform (the top tier)
 */
export type TierId = 'basic' | 'verified' | 'business';

export const tiers: Record<TierId, { name: string; summary: string; features: readonly string[] }> = {
  basic: {
    name: 'Basic',
    summary: 'A new account, before identity verification.',
    features: ['Set up your account', 'Low limits until you are verified'],
  },
  verified: {
    name: 'Verified',
    summary: 'Identity verified.',
    features: ['Send and receive payments', 'Higher limits'],
  },
  business: {
    name: 'Business',
    summary: 'For merchants.',
    features: ['Accept payments from customers', 'Payouts to your business'],
  },
};
export const tierOrder: readonly TierId[] = ['basic', 'verified', 'business'];

export type AccountTier =
  | { restricted: true; reason: string; action: { href: string; label: string } }
  | {
      restricted: false;
      current: TierId;
      next?: { tier: TierId; howTo: string; action?: { href: string; label: string } };
    };

export function tierOf(participant: Pick<Participant, 'status' | 'kind'>): AccountTier {
  switch (participant.status) {
    case 'submitted':
    case 'rejected':
      return {
        restricted: false,
        current: 'basic',
        next: {
          tier: 'verified',
          howTo: 'Complete identity verification to move up.',
          action: { href: '/private/kyc', label: 'Continue verification' },
        },
      };
    case 'pending_approval':
      return {
        restricted: false,
        current: 'basic',
        next: {
          tier: 'verified',
          howTo: 'Your verification is under review; you move up as soon as it is approved.',
          action: { href: '/private/kyc', label: 'See verification status' },
        },
      };
    case 'approved':
      if (participant.kind !== 'individual') return { restricted: false, current: 'business' };
      return {
        restricted: false,
        current: 'verified',
        next: {
          tier: 'business',
          howTo: 'Accepting payments as a merchant? Ask support to upgrade you to a business account.',
          action: { href: '/private/support?topic=upgrade', label: 'Ask for a business account' },
        },
      };
    default:
      return {
        restricted: true,
        reason: 'Your account is restricted, so its tier cannot change right now.',
        action: { href: '/private/support?topic=other', label: 'Contact support' },
      };
  }
}
