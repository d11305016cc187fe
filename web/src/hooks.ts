/** Data hooks: a JSON resource that can refresh itself, and the stored token. */
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { api, loadToken, saveToken } from "./api";

export interface Resource<T> {
  data: T | null;
  error: string | null;
  loading: boolean;
  reload: () => void;
}

/**
 * GETs `path` (null: nothing yet), again whenever it changes, and every `refreshMs` while
 * `keepRefreshing(data)` holds and the tab is visible. A refresh keeps the old data on screen.
 */
export function useResource<T>(
  path: string | null,
  refreshMs = 0,
  keepRefreshing: (data: T) => boolean = () => true,
): Resource<T> {
  const [state, setState] = useState<{ data: T | null; error: string | null; loading: boolean; path: string | null }>({
    data: null,
    error: null,
    loading: path !== null,
    path,
  });
  const [tick, setTick] = useState(0);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  const keep = useRef(keepRefreshing);
  keep.current = keepRefreshing;

  useEffect(() => {
    if (path === null) return;
    let live = true;
    setState((s) => (s.path === path ? { ...s, loading: true } : { data: null, error: null, loading: true, path }));
    api.get<T>(path).then(
      (data) => live && setState({ data, error: null, loading: false, path }),
      (err: Error) => live && setState((s) => ({ ...s, error: err.message, loading: false, path })),
    );
    return () => {
      live = false;
    };
  }, [path, tick]);

  const now = useRef(state);
  now.current = state;
  useEffect(() => {
    if (!refreshMs || path === null) return;
    const t = setInterval(() => {
      const s = now.current;
      if (document.visibilityState === "hidden" || s.loading) return;
      if (s.data !== null && !keep.current(s.data)) return;
      reload();
    }, refreshMs);
    return () => clearInterval(t);
  }, [refreshMs, path, reload]);

  const same = state.path === path;
  return { data: same ? state.data : null, error: same ? state.error : null, loading: !same || state.loading, reload };
}

/** The API token, shared by every page through localStorage. */
export function useToken(): [string, (t: string) => void] {
  const [token, setToken] = useState(loadToken);
  useEffect(() => {
    const onStorage = (): void => setToken(loadToken());
    window.addEventListener("storage", onStorage);
    window.addEventListener("propamm-token", onStorage);
    return () => {
      window.removeEventListener("storage", onStorage);
      window.removeEventListener("propamm-token", onStorage);
    };
  }, []);
  const set = useCallback((t: string) => {
    saveToken(t.trim());
    setToken(t.trim());
    window.dispatchEvent(new Event("propamm-token"));
  }, []);
  return [token, set];
}
