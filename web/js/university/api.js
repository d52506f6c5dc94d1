// The university API from the page: the API key kept in sessionStorage (this tab only), JSON in
// and out, and errors as ApiError carrying the server's code, message and field.

const KEY_SLOT = 'hotline-bridge.university-key';

export class ApiError extends Error {
  constructor(status, code, message, field) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field || null;
  }
}

export const session = {
  get key() {
    return sessionStorage.getItem(KEY_SLOT);
  },
  set key(value) {
    if (value) sessionStorage.setItem(KEY_SLOT, value);
    else sessionStorage.removeItem(KEY_SLOT);
  },
};

/** Calls the API; resolves to the parsed JSON (or null for 204), rejects with ApiError. */
export async function api(method, path, body, { auth = true } = {}) {
  const headers = { Accept: 'application/json' };
  if (auth && session.key) headers.Authorization = `Bearer ${session.key}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let res;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    throw new ApiError(0, 'network', 'The service cannot be reached. Check your connection and try again.');
  }
  if (res.status === 204) return null;
  let data = null;
  try {
    data = await res.json();
  } catch (e) {
    data = null;
  }
  if (!res.ok) {
    const err = (data && data.error) || {};
    throw new ApiError(res.status, err.code || 'error', err.message || `Request failed (${res.status})`, err.field);
  }
  return data;
}
