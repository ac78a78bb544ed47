// The management API from the page. The session token lives in an HttpOnly cookie the page cannot
// read; the page proves each call comes from itself by echoing the CSRF cookie in X-CSRF-Token.

const CSRF_COOKIE = '__Secure-kubegate-csrf';

/** An error answer: `status`, `reason`, the gateway's `message`, and `retryAfter` seconds on 429. */
export class ApiError extends Error {
  constructor(status, reason, message, retryAfter) {
    super(message);
    this.status = status;
    this.reason = reason;
    this.retryAfter = retryAfter;
  }
}

let onUnauthorized = () => {};
/** What to do when the session has ended (401 from the API). */
export function whenUnauthorized(handler) {
  onUnauthorized = handler;
}

function csrfToken() {
  const pair = document.cookie.split('; ').find((c) => c.startsWith(`${CSRF_COOKIE}=`));
  return pair ? pair.slice(CSRF_COOKIE.length + 1) : '';
}

async function send(method, path, body) {
  const headers = { Accept: 'application/json', 'X-CSRF-Token': csrfToken() };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let res;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'same-origin', cache: 'no-store' });
  } catch {
    throw new ApiError(0, 'NetworkError', 'the gateway cannot be reached; check your connection and try again');
  }
  if (!res.ok) {
    const answer = await res.json().catch(() => undefined);
    const retry = Number(res.headers.get('Retry-After')) || undefined;
    const error = new ApiError(res.status, answer?.error?.reason ?? 'Error', answer?.error?.message ?? `the gateway answered ${res.status}`, retry);
    if (res.status === 401 && !path.startsWith('/ui/')) onUnauthorized();
    throw error;
  }
  return res;
}

/** Calls the API; resolves to the parsed JSON answer (undefined for 204). */
export async function api(method, path, body) {
  const res = await send(method, path, body);
  return res.status === 204 ? undefined : res.json();
}

/** Fetches a file the API answers with (a kubeconfig): its text and the name it should be saved as. */
export async function fetchFile(method, path) {
  const res = await send(method, path);
  const match = /filename="([^"]+)"/.exec(res.headers.get('Content-Disposition') ?? '');
  return { text: await res.text(), filename: match ? match[1] : 'kubeconfig.yaml' };
}

/** Hands text to the browser as a download named `filename`. */
export function saveFile(text, filename) {
  const url = URL.createObjectURL(new Blob([text], { type: 'application/yaml' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 30_000);
}
