import { useState, type FormEvent } from "react";
import { ApiError, describeError, itemsOf } from "../../api/client";
import { api } from "../../api/endpoints";
import type { RoundMetrics, RoundScheduleSettings, TrainingJob, TrainingRound } from "../../api/types";
import { LineChart, type Series } from "../../components/LineChart";
import { Alert, CodeBlock, DataTable, formatDate, Link, ProgressBar, ScreenView } from "../../components/ui";
import { useAction, useRemote } from "../../hooks/useRemote";
import { navigate } from "../../lib/router";

const TERMINAL = new Set(["succeeded", "failed", "cancelled", "canceled", "done", "completed"]);

export function RoundsPage({ slug }: { slug: string }) {
  const rounds = useRemote(async () => itemsOf(await api.rounds(slug)), [slug], {
    isEmpty: (r) => (r.length === 0 ? "No rounds yet." : null),
    pollMs: 5000,
  });
  const metrics = useRemote(async () => itemsOf(await api.roundMetrics(slug)), [slug]);
  return (
    <section>
      <p>
        <Link to={`/manage/projects/${slug}`}>← Project</Link>
      </p>
      <h1>Training rounds — {slug}</h1>
      <ScheduleRoundForm slug={slug} />
      <PeriodicSchedule slug={slug} />
      <h2>Rounds</h2>
      <ScreenView screen={rounds.screen} onRetry={rounds.reload} render={(list) => <RoundTable rounds={list} />} />
      <h2>Over rounds</h2>
      <ScreenView screen={metrics.screen} onRetry={metrics.reload} render={(rows) => <RoundCharts rows={rows} />} />
    </section>
  );
}

function ScheduleRoundForm({ slug }: { slug: string }) {
  const [when, setWhen] = useState<"now" | "later">("now");
  const [startAt, setStartAt] = useState("");
  const [config, setConfig] = useState("{}");
  const [configError, setConfigError] = useState<string | null>(null);
  const schedule = useAction(async (body: { config: Record<string, unknown>; start_at: string | null }) => api.scheduleRound(slug, body));
  const onSubmit = async (e: FormEvent) => {
    e.preventDefault();
    let parsed: unknown;
    try {
      parsed = JSON.parse(config || "{}");
    } catch {
      setConfigError("The config is not valid JSON.");
      return;
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
      setConfigError("The config must be a JSON object.");
      return;
    }
    setConfigError(null);
    const round = await schedule.run({ config: parsed as Record<string, unknown>, start_at: when === "later" && startAt ? new Date(startAt).toISOString() : null });
    if (round) navigate(`/manage/rounds/${round.id}`);
  };
  return (
    <form className="stack narrow" onSubmit={onSubmit} aria-label="Schedule a round">
      <h2>Schedule a round</h2>
      <fieldset>
        <legend>When</legend>
        <label className="check">
          <input type="radio" name="when" checked={when === "now"} onChange={() => setWhen("now")} /> Now
        </label>
        <label className="check">
          <input type="radio" name="when" checked={when === "later"} onChange={() => setWhen("later")} /> Later
        </label>
        {when === "later" && (
          <label>
            Start at
            <input type="datetime-local" value={startAt} onChange={(e) => setStartAt(e.target.value)} required />
          </label>
        )}
      </fieldset>
      <label>
        Config overrides (JSON)
        <textarea rows={3} value={config} onChange={(e) => setConfig(e.target.value)} />
      </label>
      {configError && <Alert>{configError}</Alert>}
      {schedule.error && <Alert>{describeError(schedule.error)}</Alert>}
      <button type="submit" disabled={schedule.pending}>
        Schedule round
      </button>
      <CodeBlock title="Same call with curl" code={`curl -b cookies.txt -H "X-CSRFToken: $CSRF" -H "Content-Type: application/json" \\\n  -X POST ${location.origin}/api/projects/${slug}/rounds/ -d '{"config": {}, "start_at": null}'`} />
    </form>
  );
}

function PeriodicSchedule({ slug }: { slug: string }) {
  const { screen, reload } = useRemote(() => api.roundSchedule(slug), [slug]);
  return (
    <section aria-labelledby="periodic-title">
      <h2 id="periodic-title">Automatic rounds</h2>
      <ScreenView screen={screen} onRetry={reload} render={(s) => <PeriodicForm slug={slug} initial={s} />} />
    </section>
  );
}

function PeriodicForm({ slug, initial }: { slug: string; initial: RoundScheduleSettings }) {
  const [every, setEvery] = useState(initial.every_hours?.toString() ?? "");
  const [threshold, setThreshold] = useState(initial.rankings_threshold?.toString() ?? "");
  const [saved, setSaved] = useState(false);
  const save = useAction(async () =>
    api.setRoundSchedule(slug, { every_hours: every ? Number(every) : null, rankings_threshold: threshold ? Number(threshold) : null, config: initial.config ?? {} }),
  );
  const fields = save.error instanceof ApiError ? save.error.fields : {};
  return (
    <form
      className="stack narrow"
      aria-label="Automatic rounds"
      onSubmit={async (e) => {
        e.preventDefault();
        setSaved(false);
        if (await save.run()) setSaved(true);
      }}
    >
      <label>
        Every N hours (empty = off)
        <input type="number" min={1} value={every} onChange={(e) => setEvery(e.target.value)} />
        {fields.every_hours && <span className="field-error">{fields.every_hours.join(" ")}</span>}
      </label>
      <label>
        After N new rankings (empty = off)
        <input type="number" min={1} value={threshold} onChange={(e) => setThreshold(e.target.value)} />
        {fields.rankings_threshold && <span className="field-error">{fields.rankings_threshold.join(" ")}</span>}
      </label>
      {save.error && <Alert>{describeError(save.error)}</Alert>}
      {saved && <Alert kind="success">Schedule saved.</Alert>}
      <button type="submit" disabled={save.pending}>
        Save schedule
      </button>
    </form>
  );
}

function RoundTable({ rounds }: { rounds: TrainingRound[] }) {
  return (
    <DataTable
      rows={rounds}
      rowKey={(r) => r.id}
      columns={[
        { header: "Round", cell: (r) => <Link to={`/manage/rounds/${r.id}`}>Round {r.number}</Link> },
        { header: "Status", cell: (r) => <span className={`status status-${r.status}`}>{r.status}</span> },
        { header: "Trigger", cell: (r) => r.trigger },
        { header: "Start", cell: (r) => formatDate(r.start_at ?? r.created_at) },
        { header: "Stages", cell: (r) => r.jobs.map((j) => `${j.stage} ${j.step}/${j.total_steps}`).join(" · ") },
      ]}
    />
  );
}

function RoundCharts({ rows }: { rows: RoundMetrics[] }) {
  const series = (name: string, pick: (r: RoundMetrics) => number | null): Series => ({
    name,
    points: rows.flatMap((r) => {
      const y = pick(r);
      return y == null ? [] : [{ x: r.round, y }];
    }),
  });
  return (
    <div className="charts">
      <LineChart title="SFT eval loss" xLabel="round" series={[series("SFT eval loss", (r) => r.sft_eval_loss)]} />
      <LineChart title="Reward model and DPO accuracy" xLabel="round" series={[series("RM accuracy", (r) => r.rm_accuracy), series("DPO accuracy", (r) => r.dpo_accuracy)]} />
      <LineChart title="PPO reward and KL" xLabel="round" series={[series("PPO reward", (r) => r.ppo_reward), series("KL", (r) => r.ppo_kl)]} />
      <LineChart title="Win rate vs SFT" xLabel="round" series={[series("win rate", (r) => r.win_rate_vs_sft)]} />
    </div>
  );
}

export function RoundDetailPage({ id }: { id: number }) {
  const [live, setLive] = useState(true);
  const { screen, reload } = useRemote(
    async () => {
      const round = await api.round(id);
      setLive(!TERMINAL.has(round.status));
      return round;
    },
    [id],
    { pollMs: live ? 2000 : null },
  );
  return (
    <section>
      <ScreenView screen={screen} onRetry={reload} render={(round) => <RoundView round={round} onChanged={reload} />} />
    </section>
  );
}

function RoundView({ round, onChanged }: { round: TrainingRound; onChanged: () => void }) {
  const cancel = useAction(async () => api.cancelRound(round.id));
  const retry = useAction(async (jobId: string) => api.retryJob(jobId));
  const finished = TERMINAL.has(round.status);
  return (
    <>
      <p>
        <Link to={`/manage/projects/${round.project}/rounds`}>← Rounds of {round.project}</Link>
      </p>
      <h1>
        Round {round.number} <span className={`status status-${round.status}`}>{round.status}</span>
      </h1>
      <p className="muted">
        Trigger: {round.trigger} · scheduled {formatDate(round.created_at)}
        {round.start_at ? ` · starts ${formatDate(round.start_at)}` : ""} · started {formatDate(round.started_at)} · finished {formatDate(round.finished_at)}
        {!finished && " · refreshing every 2 s"}
      </p>
      {round.message && <Alert kind="info">{round.message}</Alert>}
      {cancel.error && <Alert>{describeError(cancel.error)}</Alert>}
      {retry.error && <Alert>{describeError(retry.error)}</Alert>}
      {!finished && (
        <button
          type="button"
          className="danger"
          disabled={cancel.pending}
          onClick={async () => {
            if (await cancel.run()) onChanged();
          }}
        >
          Cancel round
        </button>
      )}
      <h2>Stages</h2>
      <ol className="jobs" aria-label="Stages">
        {round.jobs.map((job) => (
          <JobRow key={job.id} job={job} onRetry={async () => {
            if (await retry.run(job.id)) onChanged();
          }} />
        ))}
      </ol>
      {round.snapshot && (
        <p className="muted">
          Data snapshot {String(round.snapshot.id)}: {Object.entries(round.snapshot.counts).map(([k, v]) => `${k} ${v}`).join(", ")}
        </p>
      )}
      <CodeBlock title="Same data from the API" code={`curl -b cookies.txt ${location.origin}/api/rounds/${round.id}/`} />
    </>
  );
}

function metricSeries(job: TrainingJob): Series[] {
  const points = job.metrics ?? [];
  const names = new Set<string>();
  for (const p of points) for (const [k, v] of Object.entries(p)) if (k !== "step" && typeof v === "number") names.add(k);
  return [...names].slice(0, 4).map((name) => ({
    name,
    points: points.flatMap((p) => (typeof p[name] === "number" ? [{ x: p.step, y: p[name] as number }] : [])),
  }));
}

function JobRow({ job, onRetry }: { job: TrainingJob; onRetry: () => void }) {
  const series = metricSeries(job);
  return (
    <li className="job" data-testid={`job-${job.stage}`}>
      <div className="job-head">
        <strong>{job.stage}</strong> <span className={`status status-${job.status}`}>{job.status}</span>
        {job.attempts > 1 && <span className="muted"> attempt {job.attempts}</span>}
        {(job.status === "failed" || job.status === "cancelled") && (
          <button type="button" className="secondary" onClick={onRetry}>
            Retry {job.stage}
          </button>
        )}
      </div>
      <ProgressBar value={job.step} max={job.total_steps} label={`${job.stage} progress`} />
      {job.message && <p className="muted">{job.message}</p>}
      {series.length > 0 && <LineChart title={`${job.stage} over steps`} xLabel="step" series={series} />}
      {job.log_tail && (
        <details>
          <summary>Log</summary>
          <pre className="log">{job.log_tail}</pre>
        </details>
      )}
    </li>
  );
}
