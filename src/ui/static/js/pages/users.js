import { api } from '../api.js';
import { announce, checkbox, errorBox, field, h, heading } from '../dom.js';

const groupsOf = (text) => text.split(/[\s,]+/).filter(Boolean);

/** Admin: users — create, set groups, disable/enable, reset password. */
export async function usersPage({ main, me }) {
  document.title = 'Users · kubegate';
  const error = errorBox();
  const list = h('section');
  const editSlot = h('div');

  const username = h('input', { type: 'text', name: 'username', required: true, autocomplete: 'off', spellcheck: 'false' });
  const password = h('input', { type: 'password', name: 'password', required: true, minlength: '8', autocomplete: 'new-password' });
  const groups = h('input', { type: 'text', name: 'groups', placeholder: 'dev, ops' });
  const admin = checkbox('Administrator', { name: 'admin' });
  const createError = errorBox();
  const form = h(
    'form',
    {
      class: 'inline',
      onsubmit: async (event) => {
        event.preventDefault();
        createError.clear();
        try {
          const user = await api('POST', '/v1/users', { username: username.value.trim(), password: password.value, groups: groupsOf(groups.value), admin: admin.input.checked });
          announce(`Created user ${user.username}`);
          form.reset();
          await refresh();
        } catch (e) {
          createError.show(e.message);
        }
      },
    },
    field('Username', username),
    field('Password', password, 'at least 8 characters'),
    field('Groups', groups, 'comma-separated'),
    admin.el,
    h('button', { type: 'submit' }, 'Create user'),
  );
  main.append(heading('Users'), h('h2', {}, 'Create a user'), form, createError.el, h('h2', {}, 'All users'), error.el, list, editSlot);

  function edit(user) {
    // Single sign-on users get their groups from the provider at each login, and have no password.
    const sso = user.source !== 'local';
    const editGroups = h('input', { type: 'text', name: 'groups', value: user.groups.join(', '), disabled: sso });
    const isAdmin = checkbox('Administrator', { name: 'admin', checked: user.admin, disabled: user.id === me.id });
    const enabled = checkbox('Enabled (disabling ends all of the user\'s tokens at once)', { name: 'enabled', checked: user.enabled, disabled: user.id === me.id });
    const newPassword = h('input', { type: 'password', name: 'new-password', minlength: '8', autocomplete: 'new-password' });
    const editError = errorBox();
    const panel = h(
      'form',
      {
        class: 'panel stack',
        'aria-labelledby': 'edit-title',
        onsubmit: async (event) => {
          event.preventDefault();
          editError.clear();
          const patch = sso ? {} : { groups: groupsOf(editGroups.value) };
          if (user.id !== me.id) Object.assign(patch, { admin: isAdmin.input.checked, enabled: enabled.input.checked });
          if (newPassword.value) patch.password = newPassword.value;
          try {
            await api('PATCH', `/v1/users/${encodeURIComponent(user.id)}`, patch);
            announce(`Saved ${user.username}${patch.password ? ' (password reset)' : ''}`);
            editSlot.replaceChildren();
            await refresh();
          } catch (e) {
            editError.show(e.message);
          }
        },
      },
      h('h2', { id: 'edit-title', tabindex: '-1' }, `Edit ${user.username}`),
      field('Groups', editGroups, sso ? 'from the identity provider, as of their last login' : 'comma-separated'),
      isAdmin.el,
      enabled.el,
      sso ? h('p', { class: 'note' }, `Signs in with single sign-on (${user.source.slice('oidc:'.length)}); no password.`) : field('New password', newPassword, 'leave empty to keep the current one'),
      editError.el,
      h('div', { class: 'copy-row' }, h('button', { type: 'submit' }, 'Save'), h('button', { type: 'button', class: 'secondary', onclick: () => editSlot.replaceChildren() }, 'Cancel')),
    );
    editSlot.replaceChildren(panel);
    panel.querySelector('h2').focus();
  }

  async function refresh() {
    let users;
    try {
      users = (await api('GET', '/v1/users')).items;
    } catch (e) {
      return error.show(e.message);
    }
    list.replaceChildren(
      h(
        'table',
        {},
        h('thead', {}, h('tr', {}, ['Username', 'Source', 'Groups', 'Role', 'Status'].map((c) => h('th', { scope: 'col' }, c)), h('th', { scope: 'col' }, h('span', { class: 'sr-only' }, 'Actions')))),
        h(
          'tbody',
          {},
          users.map((u) =>
            h(
              'tr',
              { 'data-user': u.username },
              h('td', {}, u.username),
              h('td', { title: u.subject ? `subject ${u.subject}` : undefined }, u.source === 'local' ? 'local' : h('span', { class: 'badge' }, `SSO · ${new URL(u.source.slice('oidc:'.length)).host}`)),
              h('td', {}, u.groups.join(', ') || h('span', { class: 'muted' }, '—')),
              h('td', {}, u.admin ? 'admin' : 'user'),
              h('td', {}, h('span', { class: u.enabled ? 'badge on' : 'badge off' }, u.enabled ? 'Enabled' : 'Disabled')),
              h('td', { class: 'actions' }, h('button', { type: 'button', class: 'secondary', 'aria-label': `Edit ${u.username}`, onclick: () => edit(u) }, 'Edit')),
            ),
          ),
        ),
      ),
    );
  }
  await refresh();
}
