// JSON calls to the Pnyx API from the pages. Errors arrive as {"error": {"code", "message"}}
// (config/api_errors.py); they become an ApiError whose `code` the page turns into a translated
// sentence (i18n.errorMessage). Unsafe methods carry the CSRF token from Django's cookie, read at
// each call: logging in rotates it.

export class ApiError extends Error {
  constructor(status, code, details = null, retryAfter = null) {
    super(code);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.details = details;
    this.retryAfter = retryAfter; // seconds, from a Retry-After header in seconds, else null
  }
}

export function cookie(name) {
  for (const part of document.cookie.split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) return decodeURIComponent(rest.join('='));
  }
  return '';
}

/**
 * `method` GET/POST; `body` is sent as JSON (a string is sent as is). Resolves to the parsed JSON
 * answer (null for 204); rejects with ApiError (`network_error` when the server cannot be reached
 * or gave no answer within `timeoutMs`, `unexpected` for an answer that is not the API's JSON).
 */
export async function apiCall(method, url, body, { csrfCookie = 'csrftoken', timeoutMs = null } = {}) {
  const headers = { Accept: 'application/json' };
  const init = { method, headers, credentials: 'same-origin', cache: 'no-store' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
  }
  if (method !== 'GET' && method !== 'HEAD') headers['X-CSRFToken'] = cookie(csrfCookie);
  if (timeoutMs !== null) init.signal = AbortSignal.timeout(timeoutMs);
  let response;
  try {
    response = await fetch(url, init);
  } catch {
    throw new ApiError(0, 'network_error');
  }
  if (response.status === 204) return null;
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok) {
    const code = data?.error?.code;
    const retryAfter = /^\d{1,6}$/.test(response.headers.get('Retry-After') ?? '') ? Number(response.headers.get('Retry-After')) : null;
    throw new ApiError(response.status, typeof code === 'string' ? code : 'unexpected', data?.error?.details ?? null, retryAfter);
  }
  if (data === null) throw new ApiError(response.status, 'unexpected');
  return data;
}
