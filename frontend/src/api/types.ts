/**
 * Shapes the screens use. Where the generated OpenAPI schema (schema.d.ts, `npm run gen:api`)
 * describes an endpoint, the type is derived from it; output serializers always send every
 * field, so their optional markers are dropped with Required<>, and untyped JSON columns
 * (metrics, counts, options) get their real shapes here.
 */
import type { components } from "./schema";

type Schemas = components["schemas"];
/** An output serializer's object: every declared field is present in responses. */
type Out<Name extends keyof Schemas> = Required<Schemas[Name]>;

export type Role = "labeler" | "admin" | "ml_engineer";

export type Me = Omit<Out<"MeOutput">, "roles"> & { roles: Role[] };

export type Paginated<T> = { count: number; results: T[] };

export type Project = Omit<Out<"ProjectOutput">, "available"> & {
  available: Out<"AvailableWorkOutput"> | null;
};

export type TaskKind = "demonstration" | "ranking";

export type Sample = Out<"AssignmentSampleOutput">;

export type Assignment = Omit<Out<"AssignmentOutput">, "kind" | "samples"> & {
  kind: TaskKind;
  samples: Sample[];
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

export type RankingSubmit = Required<Schemas["RankingSubmitInputRequest"]>;

export type DemonstrationSubmit = Schemas["DemonstrationSubmitInputRequest"];

export type MeStats = Out<"MeStatsOutput">;

export type UserRow = Omit<Out<"UserOutput">, "roles"> & { roles: Role[] };

export type ImportLineError = { line: number; field: string; message: string };

export type PromptRow = Out<"PromptOutput">;

export type ActivityRow = Out<"ActivityRowOutput">;

export type ExportKind = "sft" | "preference" | "rankings" | "eval";
export type ExportFormat = "jsonl" | "parquet" | "csv";

export type ExportJob = Omit<Out<"ExportJobOutput">, "options" | "rows_total" | "size_bytes"> & {
  options: Record<string, unknown>;
  rows_total: number | null;
  size_bytes: number | null;
};

export type ExportOptionsInput = {
  style?: string;
  tie_policy?: "skip" | "both" | "drop_ranking";
  split?: "train" | "eval";
  labeler?: string;
  created_after?: string;
  created_before?: string;
  round?: number;
  min_agreement?: number;
};

export type ExportCreate = ExportOptionsInput & { kind: ExportKind; format: ExportFormat; pseudonymize: boolean };

export type JobMetricPoint = { step: number; [metric: string]: number | string | null };

type Snapshot = Omit<Out<"DataSnapshotOutput">, "counts"> & { counts: Record<string, number> };

export type TrainingJob = Omit<Out<"TrainingJobSummaryOutput">, never> &
  Partial<Omit<Out<"TrainingJobOutput">, "metrics">> & { metrics?: JobMetricPoint[] };

export type TrainingRound = Omit<Out<"TrainingRoundListOutput">, "jobs"> & {
  jobs: TrainingJob[];
  config?: Record<string, unknown>;
  snapshot?: Snapshot | null;
  scheduled_by?: string | null;
};

export type RoundScheduleSettings = Omit<Out<"RoundScheduleSettingsOutput">, "config" | "updated_at" | "every_hours" | "rankings_threshold"> & {
  every_hours: number | null;
  rankings_threshold: number | null;
  config: Record<string, unknown>;
  updated_at?: string | null;
};

export type RoundMetrics = Out<"RoundMetricsOutput">;

/** The detail view builds lineage in a method field, so the schema cannot describe it. */
type LineageItem = { id: string; stage: string; path: string; round_number: number | null; snapshot_id: string | null; created_at: string };

export type Checkpoint = Omit<Out<"CheckpointListOutput">, "metrics"> & {
  metrics: Record<string, unknown>;
  config?: unknown;
  snapshot?: Snapshot | null;
  lineage?: LineageItem[];
  eval_samples?: unknown;
};
