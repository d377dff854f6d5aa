import { createHash } from 'node:crypto';

/**
 * The pages' one stylesheet, served from /private/assets/handoff.css (the CSP allows styles from our origin
 * only, so nothing is inline). Mobile first; wider screens only get more room.
 */
export const stylesheet = `
:root {
  --bg: #f3f4f7; --surface: #ffffff; --text: #1b1f2a; --muted: #5d6474; --line: #e1e4ea;
  --accent: #3451d1; --accent-strong: #2640b0; --accent-soft: #eef1fd;
  --success: #13795b; --success-soft: #e7f6f0; --warning: #9a5b00; --warning-soft: #fdf3e2;
  --danger: #b42318; --danger-soft: #fdeceb; --radius: 14px;
  --font: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; background: var(--bg); color: var(--text); font: 16px/1.55 var(--font); }
a { color: var(--accent); text-underline-offset: 2px; }
a:hover { color: var(--accent-strong); }
h1 { font-size: 1.5rem; line-height: 1.25; margin: 0 0 .5rem; letter-spacing: -.01em; }
h2 { font-size: 1.05rem; margin: 1.75rem 0 .75rem; }
p { margin: 0 0 1rem; }

.site-header { background: var(--surface); border-bottom: 1px solid var(--line); }
.site-header .bar { max-width: 46rem; margin: 0 auto; padding: .75rem 1rem; display: flex; align-items: center;
  justify-content: space-between; gap: 1rem; }
.brand { display: flex; align-items: center; gap: .6rem; font-weight: 650; min-width: 0; }
.brand .mark { flex: none; width: 2rem; height: 2rem; border-radius: 9px; background: var(--accent); color: #fff;
  display: grid; place-items: center; font-weight: 700; }
.brand .name { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.account { display: flex; align-items: center; gap: .75rem; font-size: .9rem; color: var(--muted); }
.account .who { display: none; }
.account form { margin: 0; }

.tabs { max-width: 46rem; margin: 0 auto; padding: 0 1rem; display: flex; gap: .25rem; overflow-x: auto; }
.tabs a { padding: .6rem .8rem; color: var(--muted); text-decoration: none; border-bottom: 2px solid transparent;
  white-space: nowrap; font-weight: 550; font-size: .95rem; }
.tabs a[aria-current="page"] { color: var(--accent); border-bottom-color: var(--accent); }

main { max-width: 46rem; margin: 0 auto; padding: 1.5rem 1rem 2.5rem; }
/* Single-card pages (confirmations, sign-in, problems): header, card and footer share one narrow column. */
body.narrow .site-header .bar, body.narrow main, body.narrow .site-footer { max-width: 32rem; }
body.narrow main { padding-top: 2.5rem; }
.card { background: var(--surface); border: 1px solid var(--line); border-radius: var(--radius);
  padding: 1.5rem 1.25rem; box-shadow: 0 1px 2px rgba(16, 24, 40, .04); }
.card + .card { margin-top: 1rem; }
.card > h2:first-child { margin-top: 0; }
.card > :last-child { margin-bottom: 0; }
/* An address moves to the next line whole rather than breaking at its ellipsis; only a very long one wraps. */
.address { display: inline-block; overflow-wrap: anywhere; }
.lead { color: var(--muted); margin-bottom: 1.25rem; }
.small { font-size: .85rem; color: var(--muted); }
.eyebrow { font-size: .8rem; font-weight: 650; letter-spacing: .06em; text-transform: uppercase; color: var(--muted);
  margin-bottom: .35rem; }

.button { display: block; width: 100%; border: 1px solid var(--accent); background: var(--accent); color: #fff;
  font: inherit; font-weight: 600; text-align: center; text-decoration: none; padding: .8rem 1.25rem;
  border-radius: 10px; cursor: pointer; }
.button:hover { background: var(--accent-strong); border-color: var(--accent-strong); color: #fff; }
.button:focus-visible, input:focus-visible, select:focus-visible, textarea:focus-visible, .link-button:focus-visible
  { outline: 3px solid rgba(52, 81, 209, .35); outline-offset: 2px; }
.button.secondary { background: var(--surface); color: var(--text); border-color: var(--line); }
.button.secondary:hover { background: var(--bg); }
.actions { display: grid; gap: .75rem; margin-top: 1.5rem; }
.link-button { border: 0; background: none; padding: 0; font: inherit; color: var(--accent); cursor: pointer;
  text-decoration: underline; text-underline-offset: 2px; }

.identity { display: flex; align-items: center; gap: .9rem; padding: 1rem; border: 1px solid var(--line);
  border-radius: 12px; background: var(--bg); margin: 1.25rem 0 .5rem; }
.avatar { flex: none; width: 2.75rem; height: 2.75rem; border-radius: 50%; background: var(--accent-soft);
  color: var(--accent); display: grid; place-items: center; font-weight: 700; font-size: 1.15rem; }
.identity .email { font-weight: 600; word-break: break-all; }

.notice { border-radius: 10px; padding: .85rem 1rem; margin-bottom: 1.25rem; border: 1px solid;
  background: var(--accent-soft); border-color: #d5dcfa; }
.notice.success { background: var(--success-soft); border-color: #bfe5d6; }
.notice.warning { background: var(--warning-soft); border-color: #f2d9ad; }
.notice.danger { background: var(--danger-soft); border-color: #f6c9c5; }
.notice p:last-child { margin: 0; }

.problem .icon { width: 3rem; height: 3rem; border-radius: 50%; display: grid; place-items: center;
  font-weight: 700; font-size: 1.4rem; margin-bottom: 1rem; background: var(--warning-soft); color: var(--warning); }
.problem.danger .icon { background: var(--danger-soft); color: var(--danger); }
.problem h2 { margin-top: 1.25rem; }
.reference { margin-top: 1.5rem; padding-top: 1rem; border-top: 1px solid var(--line); }

.badge { display: inline-block; padding: .2rem .65rem; border-radius: 999px; font-size: .85rem; font-weight: 600;
  background: var(--accent-soft); color: var(--accent); }
.badge.success { background: var(--success-soft); color: var(--success); }
.badge.warning { background: var(--warning-soft); color: var(--warning); }
.badge.danger { background: var(--danger-soft); color: var(--danger); }
.status-line { display: flex; flex-wrap: wrap; align-items: center; gap: .5rem .75rem; margin-bottom: 1rem; }

.steps { list-style: none; margin: 1.25rem 0 0; padding: 0; }
.steps li { position: relative; padding: 0 0 1.25rem 2.5rem; }
.steps li:last-child { padding-bottom: 0; }
.steps li::before { content: ""; position: absolute; left: 0; top: 0; width: 1.6rem; height: 1.6rem;
  border-radius: 50%; border: 2px solid var(--line); background: var(--surface); }
.steps li::after { content: ""; position: absolute; left: calc(.8rem - 1px); top: 1.75rem; bottom: .2rem;
  width: 2px; background: var(--line); }
.steps li:last-child::after { display: none; }
.steps li.done::before { content: "\\2713"; border-color: var(--success); background: var(--success); color: #fff;
  display: grid; place-items: center; font-size: .85rem; font-weight: 700; }
.steps li.current::before { border-color: var(--accent); box-shadow: inset 0 0 0 5px var(--accent-soft); }
.steps li.blocked::before { border-color: var(--danger); background: var(--danger-soft); }
.steps .title { font-weight: 600; display: block; }
.steps .detail { color: var(--muted); font-size: .92rem; }

.tiers { display: grid; gap: .75rem; margin: 0; padding: 0; list-style: none; }
.tier { border: 1px solid var(--line); border-radius: 12px; padding: 1rem; }
.tier.current { border-color: var(--accent); box-shadow: 0 0 0 1px var(--accent); }
.tier.next { border-style: dashed; }
.tier header { display: flex; justify-content: space-between; align-items: baseline; gap: .5rem; margin-bottom: .35rem; }
.tier .name { font-weight: 650; }
.tier ul { margin: .25rem 0 0; padding-left: 1.1rem; color: var(--muted); font-size: .92rem; }

label { display: block; font-weight: 600; margin: 1rem 0 .35rem; }
input, select, textarea { width: 100%; font: inherit; color: inherit; padding: .7rem .8rem; border: 1px solid #cdd2db;
  border-radius: 10px; background: var(--surface); }
textarea { min-height: 8rem; resize: vertical; }
.field-error { color: var(--danger); font-size: .9rem; margin-top: .35rem; }
.hint { color: var(--muted); font-size: .85rem; margin-top: .35rem; }

.messages { list-style: none; margin: 0; padding: 0; }
.messages li { border-top: 1px solid var(--line); padding: .9rem 0; }
.messages li:first-child { border-top: 0; padding-top: 0; }
.messages .meta { font-size: .85rem; color: var(--muted); margin-bottom: .25rem; }
.messages .body { white-space: pre-wrap; word-break: break-word; }

.site-footer { max-width: 46rem; margin: 0 auto; padding: 0 1rem 2rem; text-align: center; font-size: .8rem;
  color: var(--muted); }

@media (min-width: 640px) {
  h1 { font-size: 1.75rem; }
  .card { padding: 2rem; }
  .account .who { display: inline; }
  .actions { grid-auto-flow: column; justify-content: start; }
  .button { display: inline-block; width: auto; }
  .tiers { grid-template-columns: repeat(3, 1fr); }
}
`;

/** Content hash in the stylesheet's URL: browsers may cache it for good, and a new release is a new URL. */
export const stylesheetVersion = createHash('sha256').update(stylesheet).digest('hex').slice(0, 12);
export const stylesheetPath = '/private/assets/handoff.css';
