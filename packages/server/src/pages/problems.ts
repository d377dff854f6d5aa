import { catalogue, type ErrorCode } from '../errors/catalogue.ts';

/**
 * Every way a page can refuse what it was asked, with the words the user reads: what happened and what to do
 * next. Where the partner API has a catalogue code for the same failure, the page answers with that code's
 * status and shows the code as a reference for support.
 */
export type PageProblem =
  | 'link_not_found'
  | 'link_expired'
  | 'link_no_user'
  | 'link_incomplete'
  | 'platform_disabled'
  | 'form_rejected'
  | 'cross_site'
  | 'not_signed_in'
  | 'session_ended'
  | 'link_request_not_found'
  | 'return_url_refused'
  | 'identifier_taken';

export interface ProblemCopy {
  status: number;
  code?: ErrorCode;
  tone: 'warning' | 'danger';
  title: string;
  /** What happened; `platform` is the partner's name, or a description when unknown. */
  happened(platform: string): string;
  next(platform: string): string;
}

const fromCode = (code: ErrorCode) => ({ status: catalogue[code].status, code });
const askForNewLink = (platform: string) =>
  `Go back to ${platform} and open this page from there again: you will get a new link.`;

export const problems: Record<PageProblem, ProblemCopy> = {
  link_not_found: {
    ...fromCode('ER333'),
    tone: 'warning',
    title: 'This link can no longer be used',
    happened: () => 'Sign-in links work only once. This one has already been used, or it is not a valid link.',
    next: askForNewLink,
  },
  link_expired: {
    ...fromCode('ER334'),
    tone: 'warning',
    title: 'This link has expired',
    happened: () => 'For your security, sign-in links work for a few minutes only, and this one is too old.',
    next: askForNewLink,
  },
  link_no_user: {
    ...fromCode('ER335'),
    tone: 'danger',
    title: 'This account is not available',
    happened: () => 'The link belongs to an account that has been closed or removed.',
    next: (platform) => `If you think this is a mistake, contact ${platform}.`,
  },
  link_incomplete: {
    ...fromCode('ER333'),
    tone: 'warning',
    title: 'This link is incomplete',
    happened: () => 'Part of the link is missing. This can happen when a link is copied by hand or cut short.',
    next: askForNewLink,
  },
  platform_disabled: {
    ...fromCode('ER813'),
    tone: 'danger',
    title: 'This service is not available',
    happened: (platform) => `${platform} cannot offer this service at the moment. Nothing was changed.`,
    next: (platform) => `If you think this is a mistake, contact ${platform}.`,
  },
  form_rejected: {
    status: 403,
    tone: 'warning',
    title: 'Please try again',
    happened: () =>
      'We could not confirm that this form was sent from this page, for example because the page was open for a long time or cookies are blocked. Nothing was changed.',
    next: () => 'Go back, reload the page and try again. If it keeps happening, allow cookies for this site.',
  },
  cross_site: {
    status: 403,
    tone: 'danger',
    title: 'Request blocked',
    happened: () => 'This form was sent to us from another website, so we did not act on it. Nothing was changed.',
    next: () => 'If you meant to do this, open the page directly and try again.',
  },
  not_signed_in: {
    status: 401,
    tone: 'warning',
    title: 'You are not signed in',
    happened: (platform) => `This page shows your account, so you reach it with a sign-in link from ${platform}.`,
    next: askForNewLink,
  },
  session_ended: {
    status: 401,
    tone: 'warning',
    title: 'Your session has ended',
    happened: () =>
      'For your security you were signed out, after some time without activity or when the session reached its time limit.',
    next: askForNewLink,
  },
  link_request_not_found: {
    status: 404,
    tone: 'warning',
    title: 'This link is no longer valid',
    happened: () => 'Links to connect your account work once and for one hour. This one has been used or is too old.',
    next: (platform) => `Go back to ${platform} and start connecting your account again.`,
  },
  return_url_refused: {
    ...fromCode('ER822'),
    tone: 'danger',
    title: 'We cannot send you back',
    happened: (platform) =>
      `The address this link asks us to return you to is not one that ${platform} has registered with us, so we stopped here. Nothing was linked.`,
    next: (platform) => `Go back to ${platform} and try again. If it keeps happening, contact its support.`,
  },
  identifier_taken: {
    ...fromCode('ER706'),
    tone: 'danger',
    title: 'Already connected',
    happened: () => 'This connection has already been set up for another account. Nothing was changed.',
    next: (platform) => `Go back to ${platform} and start again.`,
  },
};

/** How the pages name a partner they cannot identify (e.g. for an unknown link). */
export const unknownPlatform = 'the app or website that sent you here';
