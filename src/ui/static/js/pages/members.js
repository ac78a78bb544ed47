import { api } from '../api.js';
import { announce, errorBox, field, h, heading } from '../dom.js';

/** What each built-in role means here; custom roles say which ClusterRole they grant. */
const BUILT_IN = { owner: 'Owner: manages members', member: 'Member', viewer: 'Viewer' };

const roleLabel = (r) => `${BUILT_IN[r.name] ?? r.name} (${r.clusterRole} in the cluster)`;

/** The role choices, `selected` chosen. */
const roleOptions = (roles, selected) => roles.map((r) => h('option', { value: r.name, selected: r.name === selected }, roleLabel(r)));

/**
 * Members of one cluster (admins and the cluster's owners): add or remove user/group principals,
 * and choose each one's role; a role reaches the cluster as group kubegate:role:<role>.
 */
export async function membersPage({ main, params: [clusterId] }) {
  document.title = `Members of ${clusterId} · kubegate`;
  const error = errorBox();
  const list = h('section');
  let roles = [];
  try {
    roles = (await api('GET', '/v1/roles')).items;
  } catch (e) {
    error.show(e.message);
  }
  const kind = h('select', { name: 'kind' }, h('option', { value: 'user' }, 'User'), h('option', { value: 'group' }, 'Group'));
  const principal = h('input', { type: 'text', name: 'principal', required: true, spellcheck: 'false', autocomplete: 'off' });
  const role = h('select', { name: 'role' }, roleOptions(roles, 'member'));
  const addError = errorBox();
  // The gateway's notice when a new member names nobody yet (issue 20): allowed, but said.
  const addNotice = h('p', { class: 'panel small', role: 'status', 'data-notice': '', hidden: true });
  const form = h(
    'form',
    {
      class: 'inline',
      onsubmit: async (event) => {
        event.preventDefault();
        addError.clear();
        addNotice.hidden = true;
        const name = `${kind.value}:${principal.value.trim()}`;
        try {
          const added = await api('PUT', `/v1/clusters/${clusterId}/members`, { principal: name, role: role.value });
          announce(`Added ${name}`);
          if (added?.notice) Object.assign(addNotice, { hidden: false, textContent: `Added ${name}; ${added.notice}.` });
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
    h(
      'p',
      { class: 'muted' },
      'Members can download a kubeconfig for this cluster and reach it as themselves, with one group kubegate:role:<role> per role they hold here; what a role may do in the cluster is its ClusterRole (kubegate render rbac). Changes take effect at once, without a new kubeconfig.',
    ),
    error.el,
    list,
    h('h2', {}, 'Add a member'),
    form,
    addError.el,
    addNotice,
  );

  async function changeRole(member, select) {
    error.clear();
    try {
      await api('PUT', `/v1/clusters/${clusterId}/members`, { principal: member.principal, role: select.value });
      announce(`${member.principal} is now ${select.value}`);
      member.role = select.value;
    } catch (e) {
      select.value = member.role;
      error.show(e.message);
    }
  }

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
              h(
                'td',
                {},
                (() => {
                  const known = roles.some((r) => r.name === m.role);
                  const select = h('select', { 'aria-label': `Role of ${m.principal}`, onchange: () => changeRole(m, select) }, known ? null : h('option', { value: m.role, selected: true }, m.role), roleOptions(roles, m.role));
                  return select;
                })(),
              ),
              h('td', { class: 'actions' }, h('button', { type: 'button', class: 'danger', 'aria-label': `Remove ${m.principal}`, onclick: () => remove(m) }, 'Remove')),
            ),
          ),
        ),
      ),
    );
  }
  await refresh();
}
