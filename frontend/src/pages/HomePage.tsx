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
  const s = screen.data;
  const seconds = (ms: number | null) => (ms == null ? "—" : `${(ms / 1000).toFixed(0)} s`);
  const items: [string, string | number][] = [
    ["Submitted", s.submitted],
    ["Today", s.today],
    ["Demonstrations", s.demonstrations],
    ["Rankings", s.rankings],
    ["Skipped", s.skipped],
    ["Median time per task", seconds(s.median_time_ms)],
  ];
  return (
    <dl className="stats" aria-label="Your work">
      {items.map(([label, value]) => (
        <div key={label}>
          <dt>{label}</dt>
          <dd>{value}</dd>
        </div>
      ))}
    </dl>
  );
}

// The API counts waiting work up to 1000; that value means "1000 or more".
const AVAILABLE_CAP = 1000;

export function waiting(count: number): string {
  return count >= AVAILABLE_CAP ? `${AVAILABLE_CAP.toLocaleString("en-US")}+` : String(count);
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
                Waiting for you: <strong>{waiting(demo)}</strong> demonstration{demo === 1 ? "" : "s"}, <strong>{waiting(rank)}</strong>{" "}
                ranking{rank === 1 ? "" : "s"}
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
