import { useState, type FormEvent } from "react";
import { describeError, itemsOf } from "../../api/client";
import { api } from "../../api/endpoints";
import type { ExportFormat, ExportJob, ExportKind, Project } from "../../api/types";
import { Alert, CodeBlock, formatDate, ProgressBar, ScreenView } from "../../components/ui";
import { useAction, useRemote } from "../../hooks/useRemote";

const KINDS: [ExportKind, string][] = [
  ["sft", "SFT (prompt + demonstration)"],
  ["preference", "Preference pairs (chosen / rejected)"],
  ["rankings", "Full rankings (K-way)"],
  ["eval", "Evaluation prompts"],
];
const FORMATS: ExportFormat[] = ["jsonl", "parquet", "csv"];
const DONE = new Set(["succeeded", "done", "completed", "ready"]);
const ENDED = new Set([...DONE, "failed", "cancelled"]);

export function ExportsPage() {
  const projects = useRemote(async () => itemsOf(await api.projects()), [], {
    isEmpty: (p) => (p.length === 0 ? "No projects to export from." : null),
  });
  const [running, setRunning] = useState(false);
  const exports = useRemote(
    async () => {
      const list = itemsOf(await api.exports());
      setRunning(list.some((e) => !ENDED.has(e.status)));
      return list;
    },
    [],
    { isEmpty: (l) => (l.length === 0 ? "No exports yet." : null), pollMs: running ? 1500 : null },
  );
  return (
    <section>
      <h1>Dataset exports</h1>
      <ScreenView screen={projects.screen} onRetry={projects.reload} render={(list) => <ExportForm projects={list} onCreated={exports.reload} />} />
      <h2>Your exports</h2>
      <ScreenView screen={exports.screen} onRetry={exports.reload} render={(list) => <ExportTable jobs={list} />} />
    </section>
  );
}

function ExportForm({ projects, onCreated }: { projects: Project[]; onCreated: () => void }) {
  const [slug, setSlug] = useState(projects[0]?.slug ?? "");
  const [kind, setKind] = useState<ExportKind>("sft");
  const [format, setFormat] = useState<ExportFormat>("jsonl");
  const [filters, setFilters] = useState("{}");
  const [filterError, setFilterError] = useState<string | null>(null);
  const create = useAction(async (parsed: Record<string, unknown>) => api.createExport(slug, { kind, format, filters: parsed }));
  const onSubmit = async (e: FormEvent) => {
    e.preventDefault();
    let parsed: unknown;
    try {
      parsed = JSON.parse(filters || "{}");
    } catch {
      setFilterError("Filters must be valid JSON.");
      return;
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
      setFilterError("Filters must be a JSON object.");
      return;
    }
    setFilterError(null);
    if (await create.run(parsed as Record<string, unknown>)) onCreated();
  };
  const body = JSON.stringify({ kind, format, filters: safeJson(filters) });
  return (
    <form className="stack narrow" onSubmit={onSubmit} aria-label="New export">
      <label>
        Project
        <select value={slug} onChange={(e) => setSlug(e.target.value)}>
          {projects.map((p) => (
            <option key={p.slug} value={p.slug}>
              {p.name}
            </option>
          ))}
        </select>
      </label>
      <label>
        Dataset
        <select value={kind} onChange={(e) => setKind(e.target.value as ExportKind)}>
          {KINDS.map(([k, text]) => (
            <option key={k} value={k}>
              {text}
            </option>
          ))}
        </select>
      </label>
      <label>
        Format
        <select value={format} onChange={(e) => setFormat(e.target.value as ExportFormat)}>
          {FORMATS.map((f) => (
            <option key={f} value={f}>
              {f}
            </option>
          ))}
        </select>
      </label>
      <label>
        Filters (JSON)
        <textarea rows={2} value={filters} onChange={(e) => setFilters(e.target.value)} />
      </label>
      {filterError && <Alert>{filterError}</Alert>}
      {create.error && <Alert>{describeError(create.error)}</Alert>}
      <button type="submit" disabled={create.pending || !slug}>
        Start export
      </button>
      <CodeBlock
        title="Same call with curl"
        code={`curl -b cookies.txt -H "X-CSRFToken: $CSRF" -H "Content-Type: application/json" \\\n  -X POST ${location.origin}/api/projects/${slug}/exports/ -d '${body}'\ncurl -b cookies.txt ${location.origin}/api/exports/<id>/\ncurl -b cookies.txt -OJ ${location.origin}/api/exports/<id>/download/`}
      />
    </form>
  );
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text || "{}");
  } catch {
    return {};
  }
}

function ExportTable({ jobs }: { jobs: ExportJob[] }) {
  return (
    <div className="table-wrap">
      <table>
        <thead>
          <tr>
            <th scope="col">Export</th>
            <th scope="col">Status</th>
            <th scope="col">Progress</th>
            <th scope="col">Rows</th>
            <th scope="col">Created</th>
            <th scope="col">File</th>
          </tr>
        </thead>
        <tbody>
          {jobs.map((job) => (
            <tr key={String(job.id)} data-testid={`export-${job.id}`}>
              <td>
                {job.project ? `${job.project} · ` : ""}
                {job.kind} · {job.format}
              </td>
              <td>
                <span className={`status status-${job.status}`}>{job.status}</span>
                {job.message && <div className="muted">{job.message}</div>}
              </td>
              <td>
                <ProgressBar value={Math.round(job.progress ?? (DONE.has(job.status) ? 100 : 0))} max={100} label={`Export ${job.id} progress`} />
              </td>
              <td>{job.rows ?? "—"}</td>
              <td>{formatDate(job.created_at)}</td>
              <td>
                {DONE.has(job.status) ? (
                  <a href={job.download_url ?? api.exportDownloadUrl(job.id)} download>
                    Download {job.kind}.{job.format}
                  </a>
                ) : (
                  "—"
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
