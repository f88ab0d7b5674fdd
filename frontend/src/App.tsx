import { AuthContext, hasRole, useAuth, useAuthState } from "./hooks/useAuth";
import { Alert, Link } from "./components/ui";
import { match, usePath } from "./lib/router";
import { LoginPage } from "./pages/LoginPage";
import { HomePage } from "./pages/HomePage";
import { LabelPage } from "./pages/LabelPage";
import { ProjectsAdminPage, ProjectAdminPage } from "./pages/admin/ProjectsPages";
import { UsersPage } from "./pages/admin/UsersPage";
import { RoundsPage, RoundDetailPage } from "./pages/admin/RoundsPages";
import { ExportsPage } from "./pages/ml/ExportsPage";
import { CheckpointsPage, CheckpointDetailPage } from "./pages/ml/CheckpointsPages";
import type { Me } from "./api/types";

export function App() {
  const auth = useAuthState();
  return (
    <AuthContext.Provider value={auth}>
      <Shell />
    </AuthContext.Provider>
  );
}

function Shell() {
  const { state, logout } = useAuth();
  if (state.status === "loading") return <p className="muted page">Loading…</p>;
  if (state.status === "error")
    return (
      <main className="page">
        <Alert>{state.message}</Alert>
      </main>
    );
  if (state.status === "anonymous") return <LoginPage notice={state.message} />;
  const me = state.me;
  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <Link to="/" className="brand">
          RLHF Studio
        </Link>
        <nav aria-label="Main">
          <Link to="/">Home</Link>
          {hasRole(me, "admin") && (
            <>
              <Link to="/manage/projects">Projects</Link>
              <Link to="/manage/users">Users</Link>
            </>
          )}
          {(hasRole(me, "ml_engineer") || hasRole(me, "admin")) && (
            <>
              <Link to="/ml/exports">Exports</Link>
              <Link to="/ml/checkpoints">Checkpoints</Link>
            </>
          )}
        </nav>
        <span className="who">
          {me.username}{" "}
          <button type="button" className="link-button" onClick={() => void logout()}>
            Log out
          </button>
        </span>
      </header>
      <main id="main" className="page">
        <Routes me={me} />
      </main>
    </>
  );
}

function Routes({ me }: { me: Me }) {
  const path = usePath();
  let params: Record<string, string> | null;
  if ((params = match("/label/:slug", path))) return <LabelPage key={path} slug={params.slug} />;
  if ((params = match("/label/:slug/:kind", path)) && (params.kind === "demonstration" || params.kind === "ranking"))
    return <LabelPage key={path} slug={params.slug} kind={params.kind} />;
  if (hasRole(me, "admin")) {
    if (match("/manage/projects", path)) return <ProjectsAdminPage />;
    if ((params = match("/manage/projects/:slug", path))) return <ProjectAdminPage key={path} slug={params.slug} />;
    if ((params = match("/manage/projects/:slug/rounds", path))) return <RoundsPage key={path} slug={params.slug} />;
    if ((params = match("/manage/rounds/:id", path))) return <RoundDetailPage key={path} id={Number(params.id)} />;
    if (match("/manage/users", path)) return <UsersPage />;
  }
  if (hasRole(me, "ml_engineer") || hasRole(me, "admin")) {
    if (match("/ml/exports", path)) return <ExportsPage />;
    if (match("/ml/checkpoints", path)) return <CheckpointsPage />;
    if ((params = match("/ml/checkpoints/:id", path))) return <CheckpointDetailPage key={path} id={params.id} />;
  }
  if (path === "/" || path === "") return <HomePage me={me} />;
  return (
    <section>
      <h1>Page not found</h1>
      <p>
        Nothing lives at this address for your role. <Link to="/">Go home</Link>.
      </p>
    </section>
  );
}
