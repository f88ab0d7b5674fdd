/** Typed wrappers, one per API operation the screens use. */
import { request, requestText } from "./client";
import type {
  ActivityRow,
  Assignment,
  Checkpoint,
  DemonstrationSubmit,
  ExportCreate,
  ExportJob,
  Me,
  MeStats,
  NextTask,
  Paginated,
  Project,
  PromptRow,
  RankingSubmit,
  Role,
  RoundMetrics,
  RoundScheduleSettings,
  TaskKind,
  TrainingJob,
  TrainingRound,
  UserRow,
} from "./types";

type List<T> = T[] | Paginated<T>;
const enc = encodeURIComponent;

export const api = {
  csrf: () => request<unknown>("/api/auth/csrf/"),
  login: (username: string, password: string) =>
    request<Me>("/api/auth/login/", { method: "POST", body: { username, password } }),
  logout: () => request<unknown>("/api/auth/logout/", { method: "POST" }),
  me: () => request<Me>("/api/me/"),
  myStats: () => request<MeStats>("/api/me/stats/"),

  projects: () => request<List<Project>>("/api/projects/?limit=200"),
  project: (slug: string) => request<Project>(`/api/projects/${enc(slug)}/`),
  createProject: (body: Partial<Project>) => request<Project>("/api/projects/", { method: "POST", body }),
  updateProject: (slug: string, body: Partial<Project>) =>
    request<Project>(`/api/projects/${enc(slug)}/`, { method: "PATCH", body }),
  prompts: (slug: string) => request<List<PromptRow>>(`/api/projects/${enc(slug)}/prompts/?limit=50`),
  importPrompts: (slug: string, file: File) => {
    const form = new FormData();
    form.append("file", file);
    return request<{ created: number }>(`/api/projects/${enc(slug)}/prompts/import/`, { method: "POST", body: form });
  },
  activity: (slug: string) => request<List<ActivityRow>>(`/api/projects/${enc(slug)}/activity/`),

  nextTask: (slug: string, kind?: TaskKind) =>
    request<NextTask>(`/api/projects/${enc(slug)}/tasks/next/`, { method: "POST", body: kind ? { kind } : {} }),
  heartbeat: (id: number) => request<{ expires_at: string }>(`/api/assignments/${id}/heartbeat/`, { method: "POST" }),
  saveDraft: (id: number, text: string) =>
    request<unknown>(`/api/assignments/${id}/draft/`, { method: "PUT", body: { text } }),
  skip: (id: number, reason: string) =>
    request<unknown>(`/api/assignments/${id}/skip/`, { method: "POST", body: { reason } }),
  submit: (id: number, body: DemonstrationSubmit | RankingSubmit, idempotencyKey: string) =>
    request<Assignment | Record<string, unknown>>(`/api/assignments/${id}/submit/`, {
      method: "POST",
      body,
      headers: { "Idempotency-Key": idempotencyKey },
    }),

  users: () => request<List<UserRow>>("/api/users/?limit=500"),
  createUser: (body: { username: string; password: string; roles: Role[] }) =>
    request<UserRow>("/api/users/", { method: "POST", body }),
  updateUser: (id: number, body: { roles?: Role[]; is_active?: boolean }) =>
    request<UserRow>(`/api/users/${id}/`, { method: "PATCH", body }),

  rounds: (slug: string) => request<List<TrainingRound>>(`/api/projects/${enc(slug)}/rounds/`),
  scheduleRound: (slug: string, body: { config?: Record<string, unknown>; start_at?: string | null }) =>
    request<TrainingRound>(`/api/projects/${enc(slug)}/rounds/`, { method: "POST", body }),
  round: (id: number) => request<TrainingRound>(`/api/rounds/${id}/`),
  cancelRound: (id: number) => request<TrainingRound>(`/api/rounds/${id}/cancel/`, { method: "POST" }),
  retryJob: (id: string) => request<TrainingJob>(`/api/jobs/${enc(id)}/retry/`, { method: "POST" }),
  roundSchedule: (slug: string) => request<RoundScheduleSettings>(`/api/projects/${enc(slug)}/round-schedule/`),
  setRoundSchedule: (slug: string, body: RoundScheduleSettings) =>
    request<RoundScheduleSettings>(`/api/projects/${enc(slug)}/round-schedule/`, { method: "PUT", body }),
  roundMetrics: (slug: string) => request<List<RoundMetrics>>(`/api/projects/${enc(slug)}/round-metrics/`),

  exports: () => request<List<ExportJob>>("/api/exports/?limit=100"),
  exportJob: (id: string) => request<ExportJob>(`/api/exports/${enc(id)}/`),
  repeatExport: (id: string) => request<ExportJob>(`/api/exports/${enc(id)}/repeat/`, { method: "POST" }),
  createExport: (slug: string, body: ExportCreate) =>
    request<ExportJob>(`/api/projects/${enc(slug)}/exports/`, { method: "POST", body }),
  exportDownloadUrl: (id: string) => `/api/exports/${enc(id)}/download/`,

  checkpoints: (slug: string) => request<List<Checkpoint>>(`/api/checkpoints/?project=${enc(slug)}`),
  checkpoint: (id: string) => request<Checkpoint>(`/api/checkpoints/${enc(id)}/`),
  checkpointCard: (id: string) => requestText(`/api/checkpoints/${enc(id)}/card/`),
  checkpointDownloadUrl: (id: string) => `/api/checkpoints/${enc(id)}/download/`,
};
