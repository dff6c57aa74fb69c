import type { UserRecord } from "@porter/core";
import type { AppConfig } from "./config.js";
import { CSRF_FIELD } from "./csrf.js";
import { html, type SafeHtml } from "./html.js";

/** A message as a page shows it: its text and its CSS classes (Django's `message.tags`). */
export interface ShownMessage {
  readonly text: string;
  readonly tags: string;
}

/** What every page needs from the request. */
export interface PageContext {
  readonly user: UserRecord | null;
  /** Made on first use: a page without a form leaves the session alone. */
  readonly csrfToken: () => string;
  readonly messages: readonly ShownMessage[];
}

const csrfField = (ctx: PageContext) =>
  html`<input type="hidden" name="${CSRF_FIELD}" value="${ctx.csrfToken()}">`;

export function layout(title: string, ctx: PageContext, body: SafeHtml): string {
  const nav = ctx.user
    ? html`<a href="/notes">Notes</a><a href="/levels">Message levels</a><a href="/password">Change password</a>
      <form method="post" action="/logout">${csrfField(ctx)}<button type="submit">Log out ${ctx.user.username}</button></form>`
    : html`<a href="/levels">Message levels</a><a href="/register">Register</a><a href="/login">Log in</a>`;
  const messages =
    ctx.messages.length === 0
      ? ""
      : html`<ul class="messages">${ctx.messages.map((m) => html`<li class="${m.tags}">${m.text}</li>`)}</ul>`;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · Porter example</title>
<link rel="stylesheet" href="/style.css">
</head>
<body>
<header><a class="brand" href="/">Porter example</a>${nav}</header>
<main>
${messages}
<h1>${title}</h1>
${body}
</main>
</body>
</html>
`.value;
}

export function homePage(
  ctx: PageContext,
  visits: number,
  config: AppConfig,
  permissions: readonly string[],
): string {
  const who = ctx.user
    ? html`<dl>
        <dt>Username</dt><dd id="username">${ctx.user.username}</dd>
        <dt>Groups</dt><dd>${ctx.user.groups.length > 0 ? ctx.user.groups.join(", ") : html`<span class="muted">none</span>`}</dd>
        <dt>Permissions</dt><dd>${ctx.user.isSuperuser ? "all (superuser)" : permissions.length > 0 ? permissions.join(", ") : html`<span class="muted">none</span>`}</dd>
        <dt>Last login</dt><dd>${ctx.user.lastLogin === null ? "never" : new Date(ctx.user.lastLogin).toISOString()}</dd>
      </dl>`
    : html`<p id="username">You are anonymous. <a href="/login">Log in</a> or <a href="/register">register</a>.</p>`;
  return layout(
    "Home",
    ctx,
    html`<section class="card"><h2>Who you are</h2>${who}</section>
<section class="card"><h2>Visits in this session</h2>
  <p class="counter" id="visits">${visits}</p>
  <p class="muted">Kept in the session under <code>visits</code>; every view of this page adds one.</p>
</section>
<section class="card"><h2>Backends</h2><dl>
  <dt>Sessions</dt><dd><code>${config.sessions}</code></dd>
  <dt>Users</dt><dd><code>${config.users}</code></dd>
  <dt>Messages</dt><dd><code>${config.messages}</code></dd>
</dl></section>`,
  );
}

export function registerPage(ctx: PageContext, username = ""): string {
  return layout(
    "Register",
    ctx,
    html`<form class="card" method="post" action="/register">${csrfField(ctx)}
  <label for="username">Username</label><input type="text" id="username" name="username" value="${username}" autocomplete="username" required maxlength="150">
  <label for="password">Password</label><input type="password" id="password" name="password" autocomplete="new-password" required>
  <label for="password2">Password again</label><input type="password" id="password2" name="password2" autocomplete="new-password" required>
  <label class="check"><input type="checkbox" name="reader" value="1" checked> Join the <code>readers</code> group (it holds <code>notes.view</code>)</label>
  <button class="primary" type="submit">Create account</button>
</form>`,
  );
}

export function loginPage(ctx: PageContext, next: string, username = ""): string {
  return layout(
    "Log in",
    ctx,
    html`<form class="card" method="post" action="/login">${csrfField(ctx)}
  <input type="hidden" name="next" value="${next}">
  <label for="username">Username</label><input type="text" id="username" name="username" value="${username}" autocomplete="username" required>
  <label for="password">Password</label><input type="password" id="password" name="password" autocomplete="current-password" required>
  <button class="primary" type="submit">Log in</button>
</form>`,
  );
}

export function passwordPage(ctx: PageContext): string {
  return layout(
    "Change password",
    ctx,
    html`<form class="card" method="post" action="/password">${csrfField(ctx)}
  <label for="old_password">Current password</label><input type="password" id="old_password" name="old_password" autocomplete="current-password" required>
  <label for="new_password1">New password</label><input type="password" id="new_password1" name="new_password1" autocomplete="new-password" required>
  <label for="new_password2">New password again</label><input type="password" id="new_password2" name="new_password2" autocomplete="new-password" required>
  <button class="primary" type="submit">Change password</button>
  <p class="muted">This session stays logged in under a new key; every other session of yours is logged out at its next request.</p>
</form>`,
  );
}

export function notesPage(ctx: PageContext): string {
  return layout(
    "Notes",
    ctx,
    html`<section class="card" id="notes"><p>Only users with the permission <code>notes.view</code> see this page —
  through a group (<code>readers</code>), their own permissions, or as a superuser.</p>
  <ul><li>Sessions, users and messages each sit behind a small contract.</li>
  <li>They meet at login: the session keeps the user id, the backend and the session-auth hash.</li></ul></section>`,
  );
}

export function forbiddenPage(ctx: PageContext, permission: string): string {
  return layout(
    "Forbidden",
    ctx,
    html`<section class="card"><p>This page needs the permission <code>${permission}</code>, which you do not have.</p>
  <p class="muted">An administrator can give it: <code>node dist/cli.js grant readers ${permission}</code>, then put you in <code>readers</code>.</p></section>`,
  );
}

export function levelsPage(ctx: PageContext, minimumLevel: number): string {
  return layout(
    "Message levels",
    ctx,
    html`<form class="card" method="post" action="/levels">${csrfField(ctx)}
  <p>Messages below the minimum level are dropped when added. The default minimum is <code>INFO</code> (20), as in Django
  (currently <code id="level">${minimumLevel}</code> for this request).</p>
  <p>The button adds a <code>DEBUG</code> message at the default level (dropped), then lowers this request's level to
  <code>DEBUG</code> and adds one message of each level: <code>debug</code>, <code>info</code>, <code>success</code>,
  <code>warning</code>, <code>error</code>. They show on the next page, each styled by its level's tag.</p>
  <button class="primary" type="submit">Send one of each level</button>
</form>`,
  );
}

export function loggedOutPage(ctx: PageContext): string {
  return layout(
    "Logged out",
    ctx,
    html`<section class="card" id="logged-out"><p>You are logged out: the session was deleted from its store and its cookie removed.</p>
  <p><a href="/login">Log in again</a></p></section>`,
  );
}

export function errorPage(ctx: PageContext, status: number, title: string, text: string): string {
  return layout(
    title,
    ctx,
    html`<section class="card"><p>${text}</p><p class="muted">HTTP ${status}</p></section>`,
  );
}
