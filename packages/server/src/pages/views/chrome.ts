import type { SignedIn } from '../sessions.ts';
import { maskEmail } from './common.ts';

/** What every signed-in page's layout needs: the partner's name and the account box with its sign-out form. */
export interface SignedInChrome {
  brand: string;
  account: { who: string; signOutCsrf: string };
}

export const chromeOf = (signedIn: SignedIn, signOutCsrf: string): SignedInChrome => ({
  brand: signedIn.partner.name,
  account: { who: maskEmail(signedIn.participant.email), signOutCsrf },
});
