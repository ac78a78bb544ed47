import { api } from '../api.js';
import { errorBox, field, h } from '../dom.js';

/**
 * The login page: "Log in with …" when the gateway has single sign-on (a plain link: the browser
 * goes to the provider and comes back through /v1/oidc/callback), and the password form; with
 * local logins turned off the form is folded away for the bootstrap administrator. Errors (and
 * throttling, with its wait) show inline.
 */
export async function loginPage({ main, onLoggedIn }) {
  document.title = 'Log in · kubegate';
  const username = h('input', { type: 'text', name: 'username', autocomplete: 'username', required: true, autocapitalize: 'none', spellcheck: 'false' });
  const password = h('input', { type: 'password', name: 'password', autocomplete: 'current-password', required: true });
  const submit = h('button', { type: 'submit' }, 'Log in');
  const error = errorBox();
  let timer;

  function waitFor(seconds) {
    submit.disabled = true;
    clearInterval(timer);
    const tick = () => {
      if (seconds <= 0) {
        clearInterval(timer);
        submit.disabled = false;
        error.show('You can try again now.');
        return;
      }
      submit.textContent = `Try again in ${seconds--}s`;
    };
    tick();
    timer = setInterval(tick, 1000);
  }

  const form = h(
    'form',
    {
      class: 'stack',
      novalidate: true,
      onsubmit: async (event) => {
        event.preventDefault();
        error.clear();
        if (!username.value || !password.value) return error.show('Enter your username and password.');
        submit.disabled = true;
        try {
          await api('POST', '/ui/login', { username: username.value, password: password.value });
          clearInterval(timer);
          if (!document.cookie.includes('__Secure-kubegate-csrf=')) {
            // Secure cookies need HTTPS (or localhost): say so instead of looping back to this form.
            submit.disabled = false;
            return error.show('Your browser refused the session cookie: open kubegate over https://.');
          }
          onLoggedIn();
        } catch (e) {
          password.value = '';
          if (e.status === 429) {
            error.show(`${e.message[0].toUpperCase()}${e.message.slice(1)}.`);
            return waitFor(e.retryAfter ?? 5);
          }
          error.show(e.status === 401 ? 'Invalid username or password.' : e.message);
          password.focus();
          submit.disabled = false;
          submit.textContent = 'Log in';
        }
      },
    },
    field('Username', username),
    field('Password', password),
    error.el,
    submit,
  );
  // Without an answer (an older gateway, a network blip) the password form is all there is.
  const methods = await api('GET', '/v1/login/methods').catch(() => ({ localLogin: true, sso: null }));
  const parts = [h('h1', { tabindex: '-1' }, 'Log in to kubegate'), h('p', { class: 'muted' }, 'One login for all your Kubernetes clusters.')];
  if (methods.sso) {
    parts.push(h('a', { class: 'button sso', href: methods.sso.loginUrl }, `Log in with ${methods.sso.displayName}`));
    parts.push(
      methods.localLogin
        ? [h('p', { class: 'divider muted small' }, 'or with a kubegate password'), form]
        : h('details', { class: 'local-login' }, h('summary', {}, 'Administrator login with a password'), form),
    );
  } else {
    parts.push(form);
  }
  main.append(h('div', { class: 'card' }, ...parts));
  (methods.sso ? main.querySelector('a.sso') : username).focus();
}
