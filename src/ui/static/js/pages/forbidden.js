import { h, heading } from '../dom.js';

/** Shown for admin pages to non-admins (the API refuses them with 403 anyway). */
export function forbiddenPage({ main }) {
  document.title = 'Not allowed · kubegate';
  main.append(
    heading('Administrators only'),
    h('p', { class: 'error', role: 'alert' }, 'This page needs an administrator account. Ask an administrator if you need access.'),
    h('p', {}, h('a', { href: '#/clusters' }, 'Back to your clusters')),
  );
}
