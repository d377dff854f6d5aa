import { type Html, html } from '../html.ts';
import { layout } from '../layout.ts';
import { type PageProblem, problems, unknownPlatform } from '../problems.ts';

export interface ProblemView {
  problem: PageProblem;
  /** The partner's name, when the request names a partner. */
  platform?: string | undefined;
  /** A signed-in user can carry on where they are; the page offers the way back. */
  continueTo?: { href: string; label: string } | undefined;
}

export function problemView(view: ProblemView): Html {
  const copy = problems[view.problem];
  const platform = view.platform ?? unknownPlatform;
  return layout({
    title: copy.title,
    brand: view.platform,
    narrow: true,
    body: html`<section class="card problem ${copy.tone}" aria-labelledby="problem-title">
<div class="icon" aria-hidden="true">!</div>
<h1 id="problem-title">${copy.title}</h1>
<p>${copy.happened(platform)}</p>
<h2>What to do now</h2>
<p>${copy.next(platform)}</p>
${view.continueTo && html`<div class="actions"><a class="button secondary" href="${view.continueTo.href}">${view.continueTo.label}</a></div>`}
${copy.code && html`<p class="small reference">Reference for support: ${copy.code}</p>`}
</section>`,
  });
}
