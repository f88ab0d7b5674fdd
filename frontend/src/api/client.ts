/**
 * The one HTTP client of the app: same-origin session cookies, the CSRF token from the
 * `csrftoken` cookie on unsafe methods, and every failure turned into an ApiError carrying the
 * server's {"error": {code, message, fields?, details?}} shape.
 */

export type FieldErrors = Record<string, string[]>;

export type ErrorBody = {
  code: string;
  message: string;
  fields?: FieldErrors;
  details?: Record<string, unknown>;
};

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly fields: FieldErrors;
  readonly details: Record<string, unknown>;

  constructor(status: number, body: ErrorBody) {
    super(body.message);
    this.name = "ApiError";
    this.status = status;
    this.code = body.code;
    this.fields = body.fields ?? {};
    this.details = body.details ?? {};
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function normaliseFields(raw: unknown): FieldErrors | undefined {
  if (!isRecord(raw)) return undefined;
  const out: FieldErrors = {};
  for (const [key, value] of Object.entries(raw)) {
    if (Array.isArray(value)) out[key] = value.map((v) => (typeof v === "string" ? v : JSON.stringify(v)));
    else if (typeof value === "string") out[key] = [value];
    else out[key] = [JSON.stringify(value)];
  }
  return out;
}

/** Reads the server's error body; anything unexpected becomes a generic error with the status. */
export function parseErrorBody(status: number, payload: unknown): ErrorBody {
  if (isRecord(payload) && isRecord(payload.error)) {
    const err = payload.error;
    const message = typeof err.message === "string" ? err.message : `Request failed (${status}).`;
    const details = isRecord(err.details) ? err.details : undefined;
    let fields = normaliseFields(err.fields);
    // Service-level validation names its one field in details.field; treat it like a field error.
    if (!fields && details && typeof details.field === "string") fields = { [details.field]: [message] };
    return { code: typeof err.code === "string" ? err.code : `http_${status}`, message, fields, details };
  }
  if (isRecord(payload) && typeof payload.detail === "string") {
    return { code: `http_${status}`, message: payload.detail };
  }
  const generic: Record<number, string> = {
    401: "You are not logged in.",
    403: "You do not have permission to do that.",
    404: "Not found.",
    500: "The server failed. Try again in a moment.",
    502: "The server is unreachable.",
    503: "The server is unavailable.",
  };
  return { code: `http_${status}`, message: generic[status] ?? `Request failed (${status}).` };
}

export function readCookie(name: string): string | null {
  for (const part of document.cookie.split(";")) {
    const [key, ...rest] = part.trim().split("=");
    if (key === name) return decodeURIComponent(rest.join("="));
  }
  return null;
}

export type RequestOptions = {
  method?: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  body?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal;
};

async function send(path: string, options: RequestOptions, accept: string): Promise<string> {
  const method = options.method ?? "GET";
  const headers: Record<string, string> = { Accept: accept, ...options.headers };
  let body: BodyInit | undefined;
  if (options.body instanceof FormData) {
    body = options.body;
  } else if (options.body !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(options.body);
  }
  if (method !== "GET") {
    const token = readCookie("csrftoken");
    if (token) headers["X-CSRFToken"] = token;
  }
  let response: Response;
  try {
    response = await fetch(path, { method, headers, body, credentials: "same-origin", signal: options.signal });
  } catch (error) {
    if (error instanceof DOMException && error.name === "AbortError") throw error;
    throw new ApiError(0, { code: "network", message: "Cannot reach the server. Check your connection." });
  }
  const text = await response.text();
  if (!response.ok) {
    let payload: unknown = null;
    try {
      payload = text ? JSON.parse(text) : null;
    } catch {
      payload = null;
    }
    throw new ApiError(response.status, parseErrorBody(response.status, payload));
  }
  return text;
}

/** Sends one request to the API and returns the parsed JSON (or null for an empty body). */
export async function request<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const text = await send(path, options, "application/json");
  if (!text) return null as T;
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new ApiError(200, { code: "bad_response", message: "The server sent an answer that is not JSON." });
  }
}

/** For endpoints that answer plain text (a model card in Markdown). */
export async function requestText(path: string, options: RequestOptions = {}): Promise<string> {
  return send(path, options, "text/markdown, text/plain;q=0.9, */*;q=0.1");
}

/** Lists come either bare or LimitOffset-paginated ({count, results}); callers want the items. */
export function itemsOf<T>(data: T[] | { results: T[] }): T[] {
  return Array.isArray(data) ? data : data.results;
}

/** A human sentence for an error, with field messages appended. */
export function describeError(error: unknown): string {
  if (error instanceof ApiError) {
    const fieldText = Object.entries(error.fields)
      .filter(([, msgs]) => !(msgs.length === 1 && msgs[0] === error.message))
      .map(([field, msgs]) => `${field}: ${msgs.join(" ")}`)
      .join("; ");
    return fieldText ? `${error.message} (${fieldText})` : error.message;
  }
  if (error instanceof Error) return error.message;
  return "Something went wrong.";
}
