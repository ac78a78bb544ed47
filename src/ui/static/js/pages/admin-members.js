import { api } from '../api.js';
import { errorBox, h, heading } from '../dom.js';

/** Admin menu → Members: every cluster, each linking to its members page. */
export async function adminMembersPage({ main }) {
  document.title = 'Members · kubegate';
  const error = errorBox();
  const list = h('section');
  main.append(heading('Members'), h('p', { class: 'muted' }, 'Who may reach each cluster. Pick a cluster to add or remove users and groups.'), error.el, list);
  let clusters;
  try {
    clusters = (await api('GET', '/v1/clusters')).items;
  } catch (e) {
    return error.show(e.message);
  }
  if (clusters.length === 0) return list.append(h('p', { class: 'muted' }, 'No clusters yet: register one under Manage clusters.'));
  list.append(
    h(
      'ul',
      { class: 'plain' },
      clusters.map((c) => h('li', { 'data-cluster': c.id }, h('a', { href: `#/clusters/${c.id}/members` }, `Members of ${c.name}`), c.name === c.id ? null : h('span', { class: 'muted small' }, ` (${c.id})`))),
    ),
  );
}
