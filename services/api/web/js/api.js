// The client of the /pedidos API. URLs are relative to the page, so the
// dashboard works under any path prefix. A POST answered 401 asks for the
// API key once, keeps it, and is sent again with it.

/** ApiError is an answer other than 2xx, in the API's error shape. */
export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.name = "ApiError";
    this.status = status;
  }
}

/** apiBase returns the URL of the API beside the page at pageURL. */
export function apiBase(pageURL) {
  return new URL("pedidos", pageURL).href;
}

/**
 * createApi returns get and post for paths below base. keys keeps the API
 * key; askKey opens the key dialog and resolves to the key, or null.
 */
export function createApi({ base, keys, askKey }) {
  function url(path, params) {
    const u = new URL(base + path);
    for (const [name, value] of Object.entries(params ?? {})) u.searchParams.set(name, String(value));
    return u;
  }

  function send(method, path, params, key = keys.get()) {
    const headers = { Accept: "application/json" };
    if (method === "POST" && key) headers["X-API-Key"] = key;
    return fetch(url(path, params), { method, headers, cache: "no-store" });
  }

  async function post(path, params) {
    let res = await send("POST", path, params);
    if (res.status === 401) {
      keys.forget();
      const key = await askKey();
      if (!key) throw new ApiError(401, "This action needs the API key.");
      keys.save(key);
      res = await send("POST", path, params, key);
      if (res.status === 401) keys.forget();
    }
    return decode(res);
  }

  return {
    get: async (path, params) => decode(await send("GET", path, params)),
    post,
  };
}

async function decode(res) {
  let body = null;
  try {
    body = await res.json();
  } catch {
    // Not JSON: the status says enough.
  }
  if (!res.ok) throw new ApiError(res.status, body?.message ?? `${res.status} ${res.statusText}`);
  return body;
}
