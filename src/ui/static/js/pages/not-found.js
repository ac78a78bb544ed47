import { h, heading } from '../dom.js';

/** Any hash route the UI does not have: say so, instead of showing another page. */
export function notFoundPage({ main, path }) {
  document.title = 'Not found · kubegate';
  main.append(
    heading('Page not found'),
    h('p', { class: 'error', role: 'alert' }, 'There is no page at ', h('code', {}, `#${path}`), '.'),
    h('p', {}, h('a', { href: '#/clusters' }, 'Go to your clusters')),
  );
}
