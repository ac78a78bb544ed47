import { api } from '../api.js';
import { announce, errorBox, field, h, heading } from '../dom.js';

/** Members of one cluster (admins and the cluster's owners): add or remove user/group principals. */
export async function membersPage({ main, params: [clusterId] }) {
  document.title = `Members of ${clusterId} · kubegate`;
  const error = errorBox();
  const list = h('section');
  const kind = h('select', { name: 'kind' }, h('option', { value: 'user' }, 'User'), h('option', { value: 'group' }, 'Group'));
  const principal = h('input', { type: 'text', name: 'principal', required: true, spellcheck: 'false', autocomplete: 'off' });
  const role = h('select', { name: 'role' }, h('option', { value: 'member' }, 'Member (can reach the cluster)'), h('option', { value: 'owner' }, 'Owner (also manages members)'));
  const addError = errorBox();
  const form = h(
    'form',
    {
      class: 'inline',
      onsubmit: async (event) => {
        event.preventDefault();
        addError.clear();
        const name = `${kind.value}:${principal.value.trim()}`;
        try {
          await api('PUT', `/v1/clusters/${clusterId}/members`, { principal: name, role: role.value });
          announce(`Added ${name}`);
          principal.value = '';
          await refresh();
        } catch (e) {
          addError.show(e.message);
        }
      },
    },
    field('Kind', kind),
    field('Name', principal, 'username or group name'),
    field('Role', role),
    h('button', { type: 'submit' }, 'Add member'),
  );
  main.append(
    heading(`Members of ${clusterId}`),
    h('p', { class: 'muted' }, 'Members can download a kubeconfig for this cluster and reach it as themselves. Removing one ends their access at once.'),
    error.el,
    list,
    h('h2', {}, 'Add a member'),
    form,
    addError.el,
  );

  async function remove(member) {
    if (!confirm(`Remove ${member.principal} from ${clusterId}?`)) return;
    try {
      await api('DELETE', `/v1/clusters/${clusterId}/members/${encodeURIComponent(member.principal)}`);
      announce(`Removed ${member.principal}`);
      await refresh();
    } catch (e) {
      error.show(e.message);
    }
  }

  async function refresh() {
    let members;
    try {
      members = (await api('GET', `/v1/clusters/${clusterId}/members`)).items;
    } catch (e) {
      return error.show(e.message);
    }
    if (members.length === 0) return list.replaceChildren(h('p', { class: 'muted' }, 'No members yet (administrators reach every cluster).'));
    list.replaceChildren(
      h(
        'table',
        {},
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Principal'), h('th', { scope: 'col' }, 'Role'), h('th', { scope: 'col' }, h('span', { class: 'sr-only' }, 'Actions')))),
        h(
          'tbody',
          {},
          members.map((m) =>
            h(
              'tr',
              { 'data-principal': m.principal },
              h('td', { class: 'mono' }, m.principal),
              h('td', {}, m.role),
              h('td', { class: 'actions' }, h('button', { type: 'button', class: 'danger', 'aria-label': `Remove ${m.principal}`, onclick: () => remove(m) }, 'Remove')),
            ),
          ),
        ),
      ),
    );
  }
  await refresh();
}
