import { useState, type FormEvent } from "react";
import { ApiError, describeError, itemsOf } from "../../api/client";
import { api } from "../../api/endpoints";
import type { ExportCreate, ExportFormat, ExportJob, ExportKind, ExportOptionsInput, Project } from "../../api/types";
import { Alert, CodeBlock, DataTable, formatDate, ProgressBar, ScreenView } from "../../components/ui";
import { useAction, useRemote } from "../../hooks/useRemote";

const KINDS: [ExportKind, string][] = [
  ["sft", "SFT (prompt + demonstration)"],
  ["preference", "Preference pairs (chosen / rejected)"],
  ["rankings", "Full rankings (K-way)"],
  ["eval", "Evaluation prompts"],
];
const STYLES: Record<ExportKind, string[]> = {
  sft: ["messages", "prompt_completion"],
  preference: ["text", "messages"],
  rankings: ["full"],
  eval: ["text"],
};
const FORMATS: ExportFormat[] = ["jsonl", "parquet", "csv"];
const ENDED = new Set(["succeeded", "failed"]);

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
      <h2>Exports</h2>
      <ScreenView screen={exports.screen} onRetry={exports.reload} render={(list) => <ExportTable jobs={list} onChanged={exports.reload} />} />
    </section>
  );
}

function ExportForm({ projects, onCreated }: { projects: Project[]; onCreated: () => void }) {
  const [slug, setSlug] = useState(projects[0]?.slug ?? "");
  const [kind, setKind] = useState<ExportKind>("sft");
  const [format, setFormat] = useState<ExportFormat>("jsonl");
  const [style, setStyle] = useState("");
  const [tiePolicy, setTiePolicy] = useState<"" | "skip" | "both" | "drop_ranking">("");
  const [split, setSplit] = useState<"" | "train" | "eval">("");
  const [labeler, setLabeler] = useState("");
  const [round, setRound] = useState("");
  const [minAgreement, setMinAgreement] = useState(""); // percent, as typed
  const [pseudonymize, setPseudonymize] = useState(true);

  const rankingKind = kind === "preference" || kind === "rankings";
  const options: ExportOptionsInput = {
    ...(style ? { style } : {}),
    ...(kind === "preference" && tiePolicy ? { tie_policy: tiePolicy } : {}),
    ...(split ? { split } : {}),
    ...(labeler.trim() ? { labeler: labeler.trim() } : {}),
    ...(round !== "" ? { round: Number(round) } : {}),
    ...(rankingKind && minAgreement !== "" ? { min_agreement: Number(minAgreement) / 100 } : {}),
  };
  const body: ExportCreate = { kind, format, pseudonymize, ...options };
  const create = useAction(async () => api.createExport(slug, body));
  const fields = create.error instanceof ApiError ? create.error.fields : {};
  const onSubmit = async (e: FormEvent) => {
    e.preventDefault();
    if (await create.run()) onCreated();
  };
  const fieldError = (name: string) => fields[name] && <span className="field-error">{fields[name].join(" ")}</span>;
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
        <select
          value={kind}
          onChange={(e) => {
            setKind(e.target.value as ExportKind);
            setStyle("");
          }}
        >
          {KINDS.map(([k, text]) => (
            <option key={k} value={k}>
              {text}
            </option>
          ))}
        </select>
        {fieldError("kind")}
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
        {fieldError("format")}
      </label>
      <label>
        Row style
        <select value={style} onChange={(e) => setStyle(e.target.value)}>
          <option value="">default</option>
          {STYLES[kind].map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
        {fieldError("style")}
      </label>
      {kind === "preference" && (
        <label>
          Ties
          <select value={tiePolicy} onChange={(e) => setTiePolicy(e.target.value as typeof tiePolicy)}>
            <option value="">default (skip tied pairs)</option>
            <option value="skip">skip tied pairs</option>
            <option value="both">keep tied pairs, marked</option>
            <option value="drop_ranking">drop rankings with ties</option>
          </select>
        </label>
      )}
      <label>
        Split
        <select value={split} onChange={(e) => setSplit(e.target.value as typeof split)}>
          <option value="">all</option>
          <option value="train">train</option>
          <option value="eval">eval</option>
        </select>
        {fieldError("split")}
      </label>
      <label>
        Only this labeler (username)
        <input value={labeler} onChange={(e) => setLabeler(e.target.value)} maxLength={150} />
        {fieldError("labeler")}
      </label>
      <label>
        Only samples of round
        <input type="number" min={0} value={round} onChange={(e) => setRound(e.target.value)} />
        {fieldError("round")}
      </label>
      {rankingKind && (
        <label>
          Minimum labeler agreement (%)
          <input
            type="number"
            min={0}
            max={100}
            step={1}
            value={minAgreement}
            onChange={(e) => setMinAgreement(e.target.value)}
            aria-describedby="min-agreement-help"
          />
          <span id="min-agreement-help" className="muted">
            Only rankings that order sample pairs as the task&apos;s other labelers did, at least this often; rankings of tasks
            nobody else ranked are left out.
          </span>
          {fieldError("min_agreement")}
        </label>
      )}
      <label className="check">
        <input type="checkbox" checked={pseudonymize} onChange={(e) => setPseudonymize(e.target.checked)} /> Pseudonymize labelers
      </label>
      {create.error && <Alert>{describeError(create.error)}</Alert>}
      <button type="submit" disabled={create.pending || !slug}>
        Start export
      </button>
      <CodeBlock
        title="Same call with curl"
        code={`curl -b cookies.txt -H "X-CSRFToken: $CSRF" -H "Content-Type: application/json" \\\n  -X POST ${location.origin}/api/projects/${slug}/exports/ -d '${JSON.stringify(body)}'\ncurl -b cookies.txt ${location.origin}/api/exports/<id>/\ncurl -b cookies.txt -OJ ${location.origin}/api/exports/<id>/download/`}
      />
    </form>
  );
}

function ExportTable({ jobs, onChanged }: { jobs: ExportJob[]; onChanged: () => void }) {
  const repeat = useAction(async (id: string) => api.repeatExport(id));
  return (
    <>
      {repeat.error && <Alert>{describeError(repeat.error)}</Alert>}
      <DataTable
        rows={jobs}
        rowKey={(job) => job.id}
        rowTestId={(job) => `export-${job.id}`}
        columns={[
          { header: "Export", cell: (job) => `${job.project} · ${job.kind} · ${job.format}` },
          {
            header: "Status",
            cell: (job) => (
              <>
                <span className={`status status-${job.status}`}>{job.status}</span>
                {job.error && <div className="field-error">{job.error}</div>}
              </>
            ),
          },
          {
            header: "Progress",
            cell: (job) => (
              <ProgressBar
                value={job.rows_done}
                max={job.rows_total ?? (job.status === "succeeded" ? job.rows_done : 0)}
                label={`Export ${job.kind} progress`}
              />
            ),
          },
          { header: "Rows", cell: (job) => job.rows_written },
          { header: "Created", cell: (job) => formatDate(job.created_at) },
          {
            header: "File",
            className: "row",
            cell: (job) => (
              <>
                {job.status === "succeeded" && job.download_url ? (
                  <a href={job.download_url} download>
                    Download {job.kind}.{job.format}
                  </a>
                ) : (
                  "—"
                )}
                {job.sha256 && (
                  <span className="muted" title="SHA-256">
                    sha256 {job.sha256.slice(0, 12)}…
                  </span>
                )}
                {ENDED.has(job.status) && (
                  <button
                    type="button"
                    className="link-button"
                    onClick={async () => {
                      if (await repeat.run(job.id)) onChanged();
                    }}
                  >
                    Run again
                  </button>
                )}
              </>
            ),
          },
        ]}
      />
    </>
  );
}
