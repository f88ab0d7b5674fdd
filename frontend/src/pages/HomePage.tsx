import { itemsOf } from "../api/client";
import { api } from "../api/endpoints";
import type { Me, Project } from "../api/types";
import { Link, ScreenView } from "../components/ui";
import { hasRole } from "../hooks/useAuth";
import { useRemote } from "../hooks/useRemote";

export function HomePage({ me }: { me: Me }) {
  const { screen, reload } = useRemote(async () => itemsOf(await api.projects()), [], {
    isEmpty: (projects) => (projects.length === 0 ? "No projects yet." : null),
  });
  const isLabeler = hasRole(me, "labeler");
  return (
    <section>
      <h1>Welcome, {me.username}</h1>
      {isLabeler && <p>Pick a project and start labeling. Your work is saved as you go.</p>}
      {isLabeler && <MyStats />}
      <ScreenView screen={screen} onRetry={reload} render={(projects) => <ProjectCards projects={projects} isLabeler={isLabeler} isAdmin={hasRole(me, "admin")} />} />
    </section>
  );
}

function MyStats() {
  const { screen } = useRemote(() => api.myStats(), []);
  if (screen.status !== "ready") return null;
  const entries = Object.entries(screen.data).filter(([, v]) => typeof v === "number" || typeof v === "string");
  if (entries.length === 0) return null;
  return (
    <dl className="stats" aria-label="Your work">
      {entries.map(([key, value]) => (
        <div key={key}>
          <dt>{key.replace(/_/g, " ")}</dt>
          <dd>{typeof value === "number" && !Number.isInteger(value) ? value.toFixed(1) : String(value)}</dd>
        </div>
      ))}
    </dl>
  );
}

function ProjectCards({ projects, isLabeler, isAdmin }: { projects: Project[]; isLabeler: boolean; isAdmin: boolean }) {
  return (
    <ul className="cards" aria-label="Projects">
      {projects.map((project) => {
        const demo = project.available?.demonstration ?? 0;
        const rank = project.available?.ranking ?? 0;
        return (
          <li key={project.slug} className="card">
            <h2>{project.name}</h2>
            {project.available && (
              <p>
                Waiting for you: <strong>{demo}</strong> demonstration{demo === 1 ? "" : "s"}, <strong>{rank}</strong> ranking{rank === 1 ? "" : "s"}
              </p>
            )}
            <div className="row">
              {isLabeler && (
                <>
                  <Link className="button" to={`/label/${project.slug}`}>
                    Start labeling
                  </Link>
                  <Link className="button secondary" to={`/label/${project.slug}/demonstration`}>
                    Write demonstrations
                  </Link>
                  <Link className="button secondary" to={`/label/${project.slug}/ranking`}>
                    Rank samples
                  </Link>
                </>
              )}
              {isAdmin && (
                <>
                  <Link className="button secondary" to={`/manage/projects/${project.slug}`}>
                    Manage
                  </Link>
                  <Link className="button secondary" to={`/manage/projects/${project.slug}/rounds`}>
                    Rounds
                  </Link>
                </>
              )}
            </div>
          </li>
        );
      })}
    </ul>
  );
}
