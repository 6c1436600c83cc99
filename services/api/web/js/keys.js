// Where the API key is kept: the browser's localStorage, one entry per
// dashboard location, so that two deployments on one origin keep their own.

/** createKeyStore returns the key store of the dashboard at scope. */
export function createKeyStore(storage, scope) {
  const name = `pedidos.apiKey:${scope}`;
  const listeners = [];
  const changed = () => listeners.forEach((fn) => fn(Boolean(read())));

  function read() {
    try {
      return storage.getItem(name);
    } catch {
      return null; // storage disabled: the key lives for this request only
    }
  }

  return {
    get: read,
    save(key) {
      try {
        storage.setItem(name, key);
      } catch {
        // Storage disabled or full: asked again next time.
      }
      changed();
    },
    forget() {
      try {
        storage.removeItem(name);
      } catch {
        // Nothing kept.
      }
      changed();
    },
    /** onChange calls fn(hasKey) now and whenever the key is saved or forgotten. */
    onChange(fn) {
      listeners.push(fn);
      fn(Boolean(read()));
    },
  };
}
