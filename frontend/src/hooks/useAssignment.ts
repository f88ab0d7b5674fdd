import { useCallback, useEffect, useRef, useState } from "react";
import { ApiError, describeError } from "../api/client";
import { api } from "../api/endpoints";
import type { Assignment, DemonstrationSubmit, RankingSubmit, TaskKind } from "../api/types";
import { newUuid } from "../lib/uuid";

export type AssignmentScreen =
  | { status: "loading" }
  | { status: "ready"; assignment: Assignment; startedAt: number; receivedAt: number }
  | { status: "empty"; message: string }
  | { status: "error"; message: string; code: string; recoverable: boolean };

const LETTERS = "ABCDEFGHI";

/** Samples arrive in this labeler's shown order; label them A, B, ... when the server did not. */
function withLabels(assignment: Assignment): Assignment {
  const samples = (assignment.samples ?? []).map((s, i) => ({ ...s, label: s.label || LETTERS[i] || String(i + 1) }));
  return { ...assignment, samples, draft: assignment.draft ?? "", guidelines: assignment.guidelines ?? "" };
}

/** The sentence a labeler sees for an API error while labeling. */
export function labelingErrorMessage(error: unknown): string {
  if (error instanceof ApiError) {
    // The server's conflict messages already say what happened and what to do next.
    if (error.status === 409) return error.message || "This task changed on the server. Load the next task to continue.";
    if (error.status === 401 || error.code === "not_authenticated")
      return "Your session has ended. Log in again in another tab; what you typed stays in this page and is saved once you are back.";
    if (error.status === 400) return describeError(error);
    if (error.status === 403) return "You are not allowed to label in this project.";
    if (error.status === 404) return "This task no longer exists. Load the next task.";
  }
  return describeError(error);
}

/**
 * Fetches the next task of a project, keeps its lease alive with heartbeats while the page is
 * open, and submits or skips it. Submits carry an Idempotency-Key that is reused when the same
 * attempt is retried after a network failure, so a retry never records the work twice.
 */
export function useAssignment(slug: string, kind?: TaskKind) {
  const [screen, setScreen] = useState<AssignmentScreen>({ status: "loading" });
  const [submitting, setSubmitting] = useState(false);
  const [actionError, setActionError] = useState<string | null>(null);
  const [fieldErrors, setFieldErrors] = useState<Record<string, string[]>>({});
  const idempotencyKey = useRef<string | null>(null);

  const loadNext = useCallback(async () => {
    setScreen({ status: "loading" });
    setActionError(null);
    setFieldErrors({});
    idempotencyKey.current = null;
    try {
      const next = await api.nextTask(slug, kind);
      if (next.assignment) setScreen({ status: "ready", assignment: withLabels(next.assignment), startedAt: Date.now(), receivedAt: performance.now() });
      else setScreen({ status: "empty", message: next.message || "No more tasks here right now. Check back later." });
    } catch (error) {
      setScreen({
        status: "error",
        message: labelingErrorMessage(error),
        code: error instanceof ApiError ? error.code : "unknown",
        recoverable: true,
      });
    }
  }, [slug, kind]);

  useEffect(() => {
    void loadNext();
  }, [loadNext]);

  const assignmentId = screen.status === "ready" ? screen.assignment.id : null;
  const expiresAt = screen.status === "ready" ? screen.assignment.expires_at : null;

  useEffect(() => {
    if (assignmentId == null) return;
    const leaseMs = expiresAt ? new Date(expiresAt).getTime() - Date.now() : 60_000;
    const everyMs = Math.max(5_000, Math.min(60_000, Math.floor(leaseMs / 3)));
    const timer = window.setInterval(async () => {
      try {
        await api.heartbeat(assignmentId);
      } catch (error) {
        if (error instanceof ApiError && (error.status === 409 || error.status === 404 || error.status === 400)) {
          setScreen({ status: "error", message: labelingErrorMessage(error), code: error.code, recoverable: true });
        }
      }
    }, everyMs);
    return () => window.clearInterval(timer);
  }, [assignmentId, expiresAt]);

  const submit = useCallback(
    async (body: DemonstrationSubmit | RankingSubmit): Promise<boolean> => {
      if (assignmentId == null) return false;
      idempotencyKey.current ??= newUuid();
      setSubmitting(true);
      setActionError(null);
      setFieldErrors({});
      try {
        await api.submit(assignmentId, body, idempotencyKey.current);
        forgetLocalDraft(assignmentId);
        await loadNext();
        return true;
      } catch (error) {
        if (error instanceof ApiError && error.status !== 0) idempotencyKey.current = null;
        if (error instanceof ApiError && error.status === 409) {
          setScreen({ status: "error", message: labelingErrorMessage(error), code: error.code, recoverable: true });
        } else {
          setActionError(labelingErrorMessage(error));
          if (error instanceof ApiError) setFieldErrors(error.fields);
        }
        return false;
      } finally {
        setSubmitting(false);
      }
    },
    [assignmentId, loadNext],
  );

  const skip = useCallback(
    async (reason: string) => {
      if (assignmentId == null) return;
      setSubmitting(true);
      setActionError(null);
      try {
        await api.skip(assignmentId, reason);
        forgetLocalDraft(assignmentId);
        await loadNext();
      } catch (error) {
        setActionError(labelingErrorMessage(error));
      } finally {
        setSubmitting(false);
      }
    },
    [assignmentId, loadNext],
  );

  return { screen, loadNext, submit, skip, submitting, actionError, fieldErrors };
}

const localKey = (assignmentId: number) => `rlhf:draft:${assignmentId}`;

/**
 * The text to start the editor with: a local copy of unsaved typing (kept while the server
 * could not be reached or the session had ended) wins over the server's last saved draft.
 */
export function initialDraft(assignment: Assignment): string {
  try {
    const local = window.localStorage.getItem(localKey(assignment.id));
    if (local != null) return local;
  } catch {
    // Storage can be disabled; the server draft is then the only copy.
  }
  return assignment.draft ?? "";
}

function keepLocal(assignmentId: number, text: string | null) {
  try {
    if (text == null) window.localStorage.removeItem(localKey(assignmentId));
    else window.localStorage.setItem(localKey(assignmentId), text);
  } catch {
    // Best effort only.
  }
}

/** Forget the local copy once the work is submitted or skipped. */
export function forgetLocalDraft(assignmentId: number) {
  keepLocal(assignmentId, null);
}

export type SaveState = { status: "idle" } | { status: "saving" } | { status: "saved"; at: number } | { status: "error"; message: string };

/**
 * Saves the draft on the server a short while after the labeler stops typing, and once more
 * when the page is hidden, so a reload or a lost session keeps the text.
 */
export function useDraftAutosave(assignmentId: number, text: string, initial: string, delayMs = 600): SaveState {
  const [state, setState] = useState<SaveState>({ status: "idle" });
  const lastSaved = useRef(initial);
  const latest = useRef(text);
  latest.current = text;

  const save = useCallback(async () => {
    const value = latest.current;
    if (value === lastSaved.current) return;
    setState({ status: "saving" });
    try {
      await api.saveDraft(assignmentId, value);
      lastSaved.current = value;
      if (latest.current === value) keepLocal(assignmentId, null);
      setState({ status: "saved", at: Date.now() });
    } catch (error) {
      setState({ status: "error", message: labelingErrorMessage(error) });
    }
  }, [assignmentId]);

  useEffect(() => {
    if (text === lastSaved.current) return;
    keepLocal(assignmentId, text);
    const timer = window.setTimeout(() => void save(), delayMs);
    return () => window.clearTimeout(timer);
  }, [text, delayMs, save, assignmentId]);

  useEffect(() => {
    const onHide = () => {
      if (document.visibilityState === "hidden") void save();
    };
    document.addEventListener("visibilitychange", onHide);
    return () => document.removeEventListener("visibilitychange", onHide);
  }, [save]);

  return state;
}
