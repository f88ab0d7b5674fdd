import { useState } from "react";
import { itemsOf } from "../../api/client";
import { api } from "../../api/endpoints";
import type { Checkpoint } from "../../api/types";
import { CodeBlock, DataTable, formatDate, Link, ScreenView } from "../../components/ui";
import { useRemote } from "../../hooks/useRemote";
import { Markdown } from "../../lib/markdown";

export function CheckpointsPage() {
  const projects = useRemote(async () => itemsOf(await api.projects()), [], {
    isEmpty: (p) => (p.length === 0 ? "No projects yet." : null),
  });
  const [slug, setSlug] = useState<string | null>(null);
  return (
    <section>
      <h1>Checkpoints</h1>
      <ScreenView
        screen={projects.screen}
        onRetry={projects.reload}
        render={(list) => {
          const current = slug ?? list[0]?.slug ?? "";
          return (
            <>
              <label>
                Project{" "}
                <select value={current} onChange={(e) => setSlug(e.target.value)}>
                  {list.map((p) => (
                    <option key={p.slug} value={p.slug}>
                      {p.name}
                    </option>
                  ))}
                </select>
              </label>
              {current && <CheckpointList slug={current} />}
            </>
          );
        }}
      />
    </section>
  );
}

function metricText(metrics: Record<string, unknown>): string {
  return Object.entries(metrics)
    .filter(([, v]) => typeof v === "number" || typeof v === "string")
    .slice(0, 4)
    .map(([k, v]) => `${k} ${typeof v === "number" ? (Number.isInteger(v) ? v : v.toFixed(3)) : v}`)
    .join(", ");
}

function CheckpointList({ slug }: { slug: string }) {
  const { screen, reload } = useRemote(async () => itemsOf(await api.checkpoints(slug)), [slug], {
    isEmpty: (l) => (l.length === 0 ? "No checkpoints in this project yet: they appear as training rounds finish." : null),
  });
  return (
    <>
      <ScreenView
        screen={screen}
        onRetry={reload}
        render={(list: Checkpoint[]) => (
          <DataTable
            rows={list}
            rowKey={(c) => c.id}
            columns={[
              { header: "Stage", cell: (c) => c.stage },
              { header: "Round", cell: (c) => c.round_number ?? "—" },
              { header: "Metrics", cell: (c) => metricText(c.metrics) },
              { header: "Created", cell: (c) => formatDate(c.created_at) },
              {
                header: "Actions",
                className: "row",
                cell: (c) => (
                  <>
                    <Link to={`/ml/checkpoints/${c.id}`}>Details</Link>
                    <a href={api.checkpointDownloadUrl(c.id)} download>
                      Download
                    </a>
                  </>
                ),
              },
            ]}
          />
        )}
      />
      <CodeBlock title="Same list with curl" code={`curl -b cookies.txt "${location.origin}/api/checkpoints/?project=${slug}"`} />
    </>
  );
}

export function CheckpointDetailPage({ id }: { id: string }) {
  const { screen, reload } = useRemote(() => api.checkpoint(id), [id]);
  const card = useRemote(() => api.checkpointCard(id), [id]);
  return (
    <section>
      <p>
        <Link to="/ml/checkpoints">← Checkpoints</Link>
      </p>
      <ScreenView
        screen={screen}
        onRetry={reload}
        render={(c) => (
          <>
            <h1>
              {c.stage} checkpoint {c.round_number != null ? `· round ${c.round_number}` : ""}
            </h1>
            <dl className="facts">
              <dt>Id</dt>
              <dd>{c.id}</dd>
              <dt>Path</dt>
              <dd>{c.path}</dd>
              <dt>Parent</dt>
              <dd>{c.parent_id ? <Link to={`/ml/checkpoints/${c.parent_id}`}>{c.parent_id}</Link> : "— (base model)"}</dd>
              <dt>Data snapshot</dt>
              <dd>
                {c.snapshot ? `${String(c.snapshot.id)}: ${Object.entries(c.snapshot.counts).map(([k, v]) => `${k} ${v}`).join(", ")}` : c.snapshot_id ?? "—"}
              </dd>
              <dt>Created</dt>
              <dd>{formatDate(c.created_at)}</dd>
            </dl>
            <h2>Lineage</h2>
            <ol className="lineage">
              {(c.lineage ?? []).map((l) => (
                <li key={l.id}>
                  <Link to={`/ml/checkpoints/${l.id}`}>{l.stage}</Link> {l.round_number != null ? `round ${l.round_number}` : ""} · snapshot {l.snapshot_id ?? "—"} ·{" "}
                  {formatDate(l.created_at)}
                </li>
              ))}
            </ol>
            <h2>Metrics</h2>
            <pre className="json">{JSON.stringify(c.metrics, null, 2)}</pre>
            <h2>Model card</h2>
            <ScreenView
              screen={card.screen}
              onRetry={card.reload}
              render={(card) => <Markdown source={card} className="model-card" />}
            />
            <p>
              <a className="button" href={api.checkpointDownloadUrl(c.id)} download>
                Download checkpoint
              </a>
            </p>
            <CodeBlock
              title="Same data with curl"
              code={`curl -b cookies.txt ${location.origin}/api/checkpoints/${c.id}/\ncurl -b cookies.txt ${location.origin}/api/checkpoints/${c.id}/card/\ncurl -b cookies.txt -OJ ${location.origin}/api/checkpoints/${c.id}/download/`}
            />
          </>
        )}
      />
    </section>
  );
}
