import { useState, type FormEvent } from "react";
import { ApiError, describeError, itemsOf } from "../../api/client";
import { api } from "../../api/endpoints";
import type { ImportLineError, Project } from "../../api/types";
import { Alert, DataTable, formatDate, Link, ScreenView } from "../../components/ui";
import { useAction, useRemote } from "../../hooks/useRemote";
import { Markdown } from "../../lib/markdown";
import { navigate } from "../../lib/router";

type ProjectForm = { name: string; slug: string; guidelines: string; k: number; overlap: number };

function ProjectFields({ value, onChange, fields, withSlug }: { value: ProjectForm; onChange: (v: ProjectForm) => void; fields: Record<string, string[]>; withSlug: boolean }) {
  const err = (name: string) => fields[name] && <span className="field-error">{fields[name].join(" ")}</span>;
  return (
    <>
      <label>
        Name
        <input value={value.name} onChange={(e) => onChange({ ...value, name: e.target.value })} required maxLength={200} />
        {err("name")}
      </label>
      {withSlug && (
        <label>
          Slug (used in addresses)
          <input value={value.slug} onChange={(e) => onChange({ ...value, slug: e.target.value })} required pattern="[-a-z0-9_]+" maxLength={100} />
          {err("slug")}
        </label>
      )}
      <label>
        Samples per ranking (K)
        <input type="number" min={2} max={9} value={value.k} onChange={(e) => onChange({ ...value, k: Number(e.target.value) })} required />
        {err("k")}
      </label>
      <label>
        Labelers per task (overlap)
        <input type="number" min={1} max={20} value={value.overlap} onChange={(e) => onChange({ ...value, overlap: Number(e.target.value) })} required />
        {err("overlap")}
      </label>
      <label>
        Guidelines (Markdown)
        <textarea rows={8} value={value.guidelines} onChange={(e) => onChange({ ...value, guidelines: e.target.value })} />
        {err("guidelines")}
      </label>
      <details>
        <summary>Guidelines preview</summary>
        <Markdown source={value.guidelines} />
      </details>
    </>
  );
}

export function ProjectsAdminPage() {
  const { screen, reload } = useRemote(async () => itemsOf(await api.projects()), [], {
    isEmpty: (p) => (p.length === 0 ? "No projects yet — create the first one below." : null),
  });
  const [form, setForm] = useState<ProjectForm>({ name: "", slug: "", guidelines: "", k: 4, overlap: 1 });
  const create = useAction(async () => api.createProject(form));
  const fields = create.error instanceof ApiError ? create.error.fields : {};
  const onSubmit = async (event: FormEvent) => {
    event.preventDefault();
    const project = await create.run();
    if (project) navigate(`/manage/projects/${project.slug}`);
  };
  return (
    <section>
      <h1>Projects</h1>
      <ScreenView
        screen={screen}
        onRetry={reload}
        render={(projects: Project[]) => (
          <DataTable
            rows={projects}
            rowKey={(p) => p.slug}
            columns={[
              { header: "Name", cell: (p) => p.name },
              { header: "K", cell: (p) => p.k },
              { header: "Overlap", cell: (p) => p.overlap },
              {
                header: "Actions",
                className: "row",
                cell: (p) => (
                  <>
                    <Link to={`/manage/projects/${p.slug}`}>Edit, prompts, activity</Link>
                    <Link to={`/manage/projects/${p.slug}/rounds`}>Rounds</Link>
                  </>
                ),
              },
            ]}
          />
        )}
      />
      <h2>New project</h2>
      <form className="stack narrow" onSubmit={onSubmit} aria-label="New project">
        <ProjectFields value={form} onChange={setForm} fields={fields} withSlug />
        {create.error && <Alert>{describeError(create.error)}</Alert>}
        <button type="submit" disabled={create.pending}>
          Create project
        </button>
      </form>
    </section>
  );
}

export function ProjectAdminPage({ slug }: { slug: string }) {
  const { screen, reload } = useRemote(() => api.project(slug), [slug]);
  const [promptsVersion, setPromptsVersion] = useState(0);
  return (
    <section>
      <p>
        <Link to="/manage/projects">← Projects</Link>
      </p>
      <ScreenView screen={screen} onRetry={reload} render={(project) => <ProjectEditor project={project} />} />
      <PromptImport slug={slug} onImported={() => setPromptsVersion((v) => v + 1)} />
      <PromptList key={promptsVersion} slug={slug} />
      <Activity slug={slug} />
    </section>
  );
}

function ProjectEditor({ project }: { project: Project }) {
  const [form, setForm] = useState<ProjectForm>({ name: project.name, slug: project.slug, guidelines: project.guidelines, k: project.k, overlap: project.overlap });
  const [saved, setSaved] = useState(false);
  const save = useAction(async () => api.updateProject(project.slug, { name: form.name, guidelines: form.guidelines, k: form.k, overlap: form.overlap }));
  const fields = save.error instanceof ApiError ? save.error.fields : {};
  return (
    <>
      <h1>{project.name}</h1>
      <p className="row">
        <Link to={`/manage/projects/${project.slug}/rounds`}>Training rounds →</Link>
      </p>
      <form
        className="stack narrow"
        aria-label="Project settings"
        onSubmit={async (e) => {
          e.preventDefault();
          setSaved(false);
          if (await save.run()) setSaved(true);
        }}
      >
        <ProjectFields value={form} onChange={setForm} fields={fields} withSlug={false} />
        {save.error && <Alert>{describeError(save.error)}</Alert>}
        {saved && <Alert kind="success">Saved.</Alert>}
        <button type="submit" disabled={save.pending}>
          Save project
        </button>
      </form>
    </>
  );
}

function PromptImport({ slug, onImported }: { slug: string; onImported: () => void }) {
  const [file, setFile] = useState<File | null>(null);
  const [result, setResult] = useState<{ created: number } | null>(null);
  const upload = useAction(async (f: File) => api.importPrompts(slug, f));
  const lineErrors: ImportLineError[] =
    upload.error instanceof ApiError && Array.isArray(upload.error.details.errors) ? (upload.error.details.errors as ImportLineError[]) : [];
  return (
    <section aria-labelledby="import-title">
      <h2 id="import-title">Import prompts</h2>
      <p className="muted">A JSONL file, one object per line: {`{"text": "...", "category": "..."}`}; or a CSV with text and category columns. Nothing is imported if any line is invalid.</p>
      <form
        className="row"
        onSubmit={async (e) => {
          e.preventDefault();
          setResult(null);
          if (file) {
            const r = await upload.run(file);
            if (r) {
              setResult(r);
              onImported();
            }
          }
        }}
      >
        <label>
          Prompt file
          <input type="file" accept=".jsonl,.json,.csv,.txt" onChange={(e) => setFile(e.target.files?.[0] ?? null)} />
        </label>
        <button type="submit" disabled={!file || upload.pending}>
          Import
        </button>
      </form>
      {result && <Alert kind="success">Imported {result.created} prompts.</Alert>}
      {upload.error && <Alert>{describeError(upload.error)}</Alert>}
      {lineErrors.length > 0 && (
        <DataTable
          label="Import errors"
          rows={lineErrors}
          rowKey={(_, i) => i}
          columns={[
            { header: "Line", cell: (le) => le.line },
            { header: "Field", cell: (le) => le.field },
            { header: "Problem", cell: (le) => le.message },
          ]}
        />
      )}
    </section>
  );
}

function PromptList({ slug }: { slug: string }) {
  const { screen, reload } = useRemote(() => api.prompts(slug), [slug], {
    isEmpty: (data) => (itemsOf(data).length === 0 ? "No prompts yet: import a file above." : null),
  });
  return (
    <section aria-labelledby="prompts-title">
      <h2 id="prompts-title">Prompts</h2>
      <ScreenView
        screen={screen}
        onRetry={reload}
        render={(data) => {
          const rows = itemsOf(data);
          const total = Array.isArray(data) ? rows.length : data.count;
          return (
            <>
              <p className="muted">
                {total} prompt{total === 1 ? "" : "s"}
                {total > rows.length ? `; the first ${rows.length} are shown` : ""}.
              </p>
              <DataTable
                rows={rows}
                rowKey={(p) => p.id}
                columns={[
                  { header: "Prompt", className: "prompt-cell", cell: (p) => (p.text.length > 200 ? `${p.text.slice(0, 200)}…` : p.text) },
                  { header: "Category", cell: (p) => p.category },
                  { header: "Split", cell: (p) => p.split },
                ]}
              />
            </>
          );
        }}
      />
    </section>
  );
}

function Activity({ slug }: { slug: string }) {
  const { screen, reload } = useRemote(async () => itemsOf(await api.activity(slug)), [slug], {
    isEmpty: (rows) => (rows.length === 0 ? "No labeler activity yet." : null),
  });
  return (
    <section aria-labelledby="activity-title">
      <h2 id="activity-title">Labeler activity</h2>
      <ScreenView
        screen={screen}
        onRetry={reload}
        render={(rows) => (
          <DataTable
            rows={rows}
            rowKey={(row) => row.labeler_id}
            columns={[
              { header: "Labeler", cell: (row) => row.username ?? `#${row.labeler_id}` },
              { header: "Submitted", cell: (row) => row.submitted },
              { header: "Demonstrations", cell: (row) => row.demonstrations },
              { header: "Rankings", cell: (row) => row.rankings },
              { header: "Skipped", cell: (row) => row.skipped },
              { header: "Last 24 h", cell: (row) => row.last_24h },
              { header: "Tasks per hour", cell: (row) => formatCell(row.per_hour) },
              {
                header: "Median time per task",
                cell: (row) => (row.median_time_ms == null ? "—" : `${(row.median_time_ms / 1000).toFixed(1)} s`),
              },
              {
                header: "Agreement",
                title: "Share of sample pairs ordered as another labeler of the same task did (ties left out)",
                cell: (row) => formatAgreement(row.agreement, row.agreement_pairs),
              },
              {
                header: "First shown ranked best",
                title: "Position bias: how often the answer shown first was ranked best, against chance",
                cell: (row) => formatPositionBias(row.first_shown_best, row.first_shown_best_by_chance),
              },
              { header: "Last submit", cell: (row) => formatDate(row.last_submitted_at) },
            ]}
          />
        )}
      />
    </section>
  );
}

function formatAgreement(agreement: number | null, pairs: number): string {
  if (agreement == null || pairs === 0) return "—";
  return `${Math.round(agreement * 100)}% of ${pairs} ${pairs === 1 ? "pair" : "pairs"}`;
}

/** "90% (chance 25%)": far above chance suggests the labeler favours the first answer shown. */
export function formatPositionBias(share: number | null, chance: number | null): string {
  if (share == null || chance == null) return "—";
  return `${Math.round(share * 100)}% (chance ${Math.round(chance * 100)}%)`;
}

function formatCell(value: unknown): string {
  if (value == null) return "—";
  if (typeof value === "number") return Number.isInteger(value) ? String(value) : value.toFixed(2);
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

