import { createContext, useCallback, useContext, useEffect, useState } from "react";
import { ApiError, describeError } from "../api/client";
import { api } from "../api/endpoints";
import type { Me, Role } from "../api/types";

export type AuthState =
  | { status: "loading" }
  | { status: "anonymous"; message?: string }
  | { status: "signed-in"; me: Me }
  | { status: "error"; message: string };

export type Auth = {
  state: AuthState;
  login: (username: string, password: string) => Promise<void>;
  logout: () => Promise<void>;
};

export const AuthContext = createContext<Auth | null>(null);

export function useAuth(): Auth {
  const auth = useContext(AuthContext);
  if (!auth) throw new Error("useAuth outside AuthContext");
  return auth;
}

export function hasRole(me: Me, role: Role): boolean {
  return me.roles.includes(role);
}

/** Owns the session: asks /api/me/ on start, sets the CSRF cookie, logs in and out. */
export function useAuthState(): Auth {
  const [state, setState] = useState<AuthState>({ status: "loading" });

  useEffect(() => {
    let alive = true;
    (async () => {
      try {
        await api.csrf();
      } catch {
        // The CSRF cookie is also set by the login call's error path; a failure here is not fatal.
      }
      try {
        const me = await api.me();
        if (alive) setState({ status: "signed-in", me });
      } catch (error) {
        if (!alive) return;
        if (error instanceof ApiError && (error.status === 401 || error.status === 403)) setState({ status: "anonymous" });
        else setState({ status: "error", message: describeError(error) });
      }
    })();
    return () => {
      alive = false;
    };
  }, []);

  const login = useCallback(async (username: string, password: string) => {
    await api.csrf();
    await api.login(username, password);
    // Login rotates the session and the CSRF token; /api/me/ is the one source of the roles.
    const me = await api.me();
    setState({ status: "signed-in", me });
  }, []);

  const logout = useCallback(async () => {
    try {
      await api.logout();
    } finally {
      setState({ status: "anonymous", message: "You are logged out." });
    }
  }, []);

  return { state, login, logout };
}
