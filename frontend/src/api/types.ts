/**
 * Shapes the screens use. Training types come from the generated OpenAPI schema
 * (schema.d.ts, `npm run gen:api`); the rest mirror the backend serializers.
 */

export type Role = "labeler" | "admin" | "ml_engineer";

export type Me = { id: number; username: string; roles: Role[] };

export type Paginated<T> = { count: number; results: T[] };

export type Project = {
  slug: string;
  name: string;
  guidelines: string;
  k: number;
  overlap: number;
  available?: { demonstration: number; ranking: number };
};

export type TaskKind = "demonstration" | "ranking";

export type Sample = { id: number; label: string; text: string };

export type Assignment = {
  id: number;
  kind: TaskKind;
  status: string;
  project: string;
  expires_at: string;
  prompt: { id: number; text: string; category: string };
  samples: Sample[];
  draft: string;
  guidelines: string;
};

export type NextTask = { assignment: Assignment | null; message?: string };

export const FLAGS = [
  ["fails_instruction", "Fails to follow the instruction"],
  ["hallucination", "Hallucination (makes things up)"],
  ["inappropriate", "Inappropriate for a customer assistant"],
  ["sexual", "Sexual content"],
  ["violent", "Violent content"],
  ["harmful_advice", "Encourages or advises harm"],
  ["denigrates_protected_class", "Denigrates a protected class"],
  ["expresses_opinion", "Expresses an opinion"],
  ["moral_judgment", "Expresses a moral judgment"],
] as const;

export type Flag = (typeof FLAGS)[number][0];

export type RankingSubmit = {
  order: number[][];
  scores: Record<string, number>;
  flags: Record<string, Flag[]>;
  none_acceptable: boolean;
  time_spent_ms: number;
};

export type DemonstrationSubmit = { text: string; time_spent_ms: number };

export type MeStats = Record<string, number | string | null>;

export type UserRow = { id: number; username: string; email?: string; roles: Role[]; is_active: boolean };

export type ImportLineError = { line: number; field: string; message: string };

export type PromptRow = { id: number; text: string; category: string };

export type ActivityRow = Record<string, string | number | null>;

export type ExportKind = "sft" | "preference" | "rankings" | "eval";
export type ExportFormat = "jsonl" | "parquet" | "csv";

export type ExportJob = {
  id: string;
  project: string;
  created_by?: string | null;
  kind: ExportKind;
  format: ExportFormat;
  options: Record<string, unknown>;
  pseudonymize: boolean;
  status: "queued" | "running" | "succeeded" | "failed";
  rows_done: number;
  rows_total: number | null;
  rows_written: number;
  sha256: string;
  size_bytes: number | null;
  error: string;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  download_url: string | null;
};

export type ExportOptionsInput = {
  style?: string;
  tie_policy?: "skip" | "both" | "drop_ranking";
  split?: "train" | "eval";
  labeler?: string;
  created_after?: string;
  created_before?: string;
  round?: number;
};

export type ExportCreate = ExportOptionsInput & { kind: ExportKind; format: ExportFormat; pseudonymize: boolean };

export type JobMetricPoint = { step: number; [metric: string]: number | string | null };

export type TrainingJob = {
  id: string;
  stage: string;
  order: number;
  status: string;
  step: number;
  total_steps: number;
  metrics?: JobMetricPoint[];
  log_tail?: string;
  attempts: number;
  message: string;
  checkpoint_id?: string | null;
};

export type TrainingRound = {
  id: number;
  project: string;
  number: number;
  status: string;
  trigger: string;
  start_at: string | null;
  message: string;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  jobs: TrainingJob[];
  config?: Record<string, unknown>;
  snapshot?: { id: number | string; counts: Record<string, number>; created_at: string } | null;
  scheduled_by?: string | null;
};

export type RoundScheduleSettings = {
  every_hours: number | null;
  rankings_threshold: number | null;
  config: Record<string, unknown>;
  updated_at?: string | null;
};

export type RoundMetrics = {
  round: number;
  round_id: number;
  status: string;
  sft_eval_loss: number | null;
  rm_accuracy: number | null;
  ppo_reward: number | null;
  ppo_kl: number | null;
  dpo_accuracy: number | null;
  win_rate_vs_sft: number | null;
};

export type Checkpoint = {
  id: string;
  project: string;
  stage: string;
  path: string;
  parent_id: string | null;
  snapshot_id: number | string | null;
  job_id: string | null;
  round_id: number | null;
  round_number: number | null;
  metrics: Record<string, unknown>;
  created_at: string;
  config?: Record<string, unknown>;
  snapshot?: { id: number | string; counts: Record<string, number>; created_at: string } | null;
  lineage?: { id: string; stage: string; path: string; round_number: number | null; snapshot_id: number | string | null; created_at: string }[];
  eval_samples?: unknown;
};
