// The shell: who is logged in, the navigation, and a hash router (`#/clusters`, `#/tokens`, …).
import { api, whenUnauthorized } from './api.js';
import { clearAnnouncement, h } from './dom.js';
import { loginPage } from './pages/login.js';
import { clustersPage } from './pages/clusters.js';
import { tokensPage } from './pages/tokens.js';
import { membersPage } from './pages/members.js';
import { usersPage } from './pages/users.js';
import { adminClustersPage } from './pages/admin-clusters.js';
import { settingsPage } from './pages/settings.js';
import { forbiddenPage } from './pages/forbidden.js';
import { notFoundPage } from './pages/not-found.js';
import { adminMembersPage } from './pages/admin-members.js';
import { rolesPage } from './pages/roles.js';

const ROUTES = [
  { path: /^\/clusters$/, page: clustersPage },
  { path: /^\/tokens$/, page: tokensPage },
  { path: /^\/clusters\/([a-z0-9-]+)\/members$/, page: membersPage },
  { path: /^\/admin\/users$/, page: usersPage, admin: true },
  { path: /^\/admin\/clusters$/, page: adminClustersPage, admin: true },
  { path: /^\/admin\/members$/, page: adminMembersPage, admin: true },
  { path: /^\/admin\/roles$/, page: rolesPage, admin: true },
  { path: /^\/admin\/settings$/, page: settingsPage, admin: true },
];

const NAV = [
  ['#/clusters', 'Clusters'],
  ['#/tokens', 'Tokens'],
];
const ADMIN_NAV = [
  ['#/admin/users', 'Users'],
  ['#/admin/clusters', 'Manage clusters'],
  ['#/admin/members', 'Members'],
  ['#/admin/roles', 'Roles'],
  ['#/admin/settings', 'Settings'],
];

const main = document.getElementById('main');
let me;

/** Renders the page named by the URL's hash. */
async function route() {
  const path = location.hash.startsWith('#/') ? location.hash.slice(1) : '';
  if (!me) {
    // No CSRF cookie: no session either, so ask nothing (a 401 would be a console error on the login page).
    if (!document.cookie.split('; ').some((c) => c.startsWith('__Secure-kubegate-csrf='))) return showLogin();
    try {
      me = await api('GET', '/v1/me');
    } catch {
      return showLogin();
    }
  }
  if (path === '' || path === '/') return void location.replace('#/clusters');
  const found = ROUTES.map((r) => ({ r, m: r.path.exec(path) })).find((x) => x.m);
  clearAnnouncement();
  showShell(path);
  main.className = '';
  main.dataset.page = path;
  main.replaceChildren();
  const page = !found ? notFoundPage : found.r.admin && !me.admin ? forbiddenPage : found.r.page;
  await page({ main, me, params: found ? found.m.slice(1) : [], path });
  // Focus the new heading so screen readers and keyboard users start at the page's top.
  main.querySelector('h1')?.focus();
}

function showShell(path) {
  document.getElementById('top').hidden = false;
  document.getElementById('who').textContent = `Signed in as ${me.username}${me.admin ? ' (admin)' : ''}`;
  const links = [...NAV, ...(me.admin ? ADMIN_NAV : [])].map(([href, text]) =>
    h('a', { href, 'aria-current': path === href.slice(1) || (href === '#/admin/members' && path.startsWith('/clusters/')) ? 'page' : undefined }, text),
  );
  if (me.admin) links.splice(NAV.length, 0, h('span', { class: 'sep', 'aria-hidden': 'true' }));
  document.getElementById('nav').replaceChildren(...links);
}

function showLogin() {
  if (!me && main.dataset.page === 'login') return;
  me = undefined;
  main.dataset.page = 'login';
  document.getElementById('top').hidden = true;
  main.className = 'narrow';
  main.replaceChildren();
  loginPage({
    main,
    onLoggedIn: () => {
      // Setting the hash routes through the hashchange listener; an existing route is rendered now.
      if (location.hash.startsWith('#/')) route();
      else location.hash = '#/clusters';
    },
  });
}

async function logout() {
  // Revoke the session token first (needs the cookie), then drop the cookies.
  await api('POST', '/v1/logout').catch(() => {});
  await api('POST', '/ui/logout').catch(() => {});
  history.replaceState(null, '', location.pathname);
  showLogin();
}

whenUnauthorized(() => showLogin());
document.getElementById('logout').addEventListener('click', logout);
window.addEventListener('hashchange', () => {
  // In-page anchors (the skip link) are not routes.
  if (location.hash === '' || location.hash.startsWith('#/')) route();
});
route();
