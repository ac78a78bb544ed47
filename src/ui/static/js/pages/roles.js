import { api, fetchFile, saveFile } from '../api.js';
import { announce, errorBox, field, h, heading } from '../dom.js';

/**
 * Admin: roles (docs/reference/identity.md). The built-ins and custom roles, each granting a
 * ClusterRole in clusters to its group kubegate:role:<role>; the bindings to apply in each cluster.
 */
export async function rolesPage({ main }) {
  document.title = 'Roles · kubegate';
  const error = errorBox();
  const list = h('section');
  const name = h('input', { type: 'text', name: 'name', required: true, spellcheck: 'false', autocomplete: 'off', pattern: '[a-z0-9]([a-z0-9\\-]*[a-z0-9])?', maxlength: '63' });
  const clusterRole = h('input', { type: 'text', name: 'clusterRole', required: true, spellcheck: 'false', autocomplete: 'off' });
  const addError = errorBox();
  const form = h(
    'form',
    {
      class: 'inline',
      onsubmit: async (event) => {
        event.preventDefault();
        addError.clear();
        try {
          const created = await api('POST', '/v1/roles', { name: name.value.trim(), clusterRole: clusterRole.value.trim() });
          announce(`Added role ${created.name}`);
          name.value = '';
          clusterRole.value = '';
          await refresh();
        } catch (e) {
          addError.show(e.message);
        }
      },
    },
    field('Role name', name, 'lower case, digits and -'),
    field('ClusterRole', clusterRole, 'e.g. edit, view, or your own'),
    h('button', { type: 'submit' }, 'Add role'),
  );
  const download = h(
    'button',
    {
      type: 'button',
      onclick: async () => {
        error.clear();
        try {
          const { text } = await fetchFile('GET', '/v1/roles/rbac.yaml');
          saveFile(text, 'kubegate-rbac.yaml');
        } catch (e) {
          error.show(e.message);
        }
      },
    },
    'Download RBAC bindings',
  );
  main.append(
    heading('Roles'),
    h(
      'p',
      { class: 'muted' },
      'A member holding a role on a cluster reaches it with the group kubegate:role:<role>. Apply the bindings in each cluster (kubectl apply -f kubegate-rbac.yaml, or kubegate render rbac) so each group gets its ClusterRole; apply them again after adding a role.',
    ),
    error.el,
    list,
    h('div', {}, download),
    h('h2', {}, 'Add a custom role'),
    form,
    addError.el,
  );

  async function remove(role) {
    if (!confirm(`Delete role ${role.name}?`)) return;
    error.clear();
    try {
      await api('DELETE', `/v1/roles/${encodeURIComponent(role.name)}`);
      announce(`Deleted role ${role.name}`);
      await refresh();
    } catch (e) {
      error.show(e.message);
    }
  }

  async function refresh() {
    let roles;
    try {
      roles = (await api('GET', '/v1/roles')).items;
    } catch (e) {
      return error.show(e.message);
    }
    list.replaceChildren(
      h(
        'table',
        {},
        h('thead', {}, h('tr', {}, ['Role', 'ClusterRole in clusters', 'Group', 'Kind'].map((t) => h('th', { scope: 'col' }, t)), h('th', { scope: 'col' }, h('span', { class: 'sr-only' }, 'Actions')))),
        h(
          'tbody',
          {},
          roles.map((r) =>
            h(
              'tr',
              { 'data-role': r.name },
              h('td', {}, r.name),
              h('td', { class: 'mono' }, r.clusterRole),
              h('td', { class: 'mono' }, r.group),
              h('td', {}, r.builtIn ? 'built-in (a setting)' : 'custom'),
              h('td', { class: 'actions' }, r.builtIn ? null : h('button', { type: 'button', class: 'danger', 'aria-label': `Delete role ${r.name}`, onclick: () => remove(r) }, 'Delete')),
            ),
          ),
        ),
      ),
    );
  }
  await refresh();
}
