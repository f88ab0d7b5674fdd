import { useState } from "react";
import type { Assignment } from "../api/types";
import { initialDraft, useDraftAutosave, type SaveState } from "../hooks/useAssignment";
import { Markdown } from "../lib/markdown";
import { Alert } from "./ui";
import { SkipForm } from "./SkipForm";

function saveLabel(state: SaveState): string {
  switch (state.status) {
    case "idle":
      return "Draft saved on the server as you type.";
    case "saving":
      return "Saving draft…";
    case "saved":
      return `Draft saved at ${new Date(state.at).toLocaleTimeString()}.`;
    case "error":
      return `Draft not saved: ${state.message}`;
  }
}

export function DemonstrationView({
  assignment,
  startedAt,
  submitting,
  error,
  fieldErrors,
  onSubmit,
  onSkip,
}: {
  assignment: Assignment;
  startedAt: number;
  submitting: boolean;
  error: string | null;
  fieldErrors: Record<string, string[]>;
  onSubmit: (text: string, timeSpentMs: number) => void;
  onSkip: (reason: string) => void;
}) {
  const [text, setText] = useState(() => initialDraft(assignment));
  const [tab, setTab] = useState<"write" | "preview">("write");
  const save = useDraftAutosave(assignment.id, text, assignment.draft ?? "");
  const empty = text.trim() === "";

  return (
    <section className="demonstration" aria-labelledby="demo-title">
      <h1 id="demo-title">Write a demonstration</h1>
      <div className="split">
        <div className="pane">
          <h2>Prompt</h2>
          <div className="prompt-text" data-testid="prompt-text">
            {assignment.prompt.text}
          </div>
          {assignment.prompt.category && <p className="muted">Category: {assignment.prompt.category}</p>}
          <details className="guidelines" open>
            <summary>Guidelines</summary>
            <Markdown source={assignment.guidelines || "No guidelines for this project."} />
          </details>
        </div>
        <div className="pane">
          <div className="tabs" role="tablist" aria-label="Editor mode">
            <button type="button" role="tab" aria-selected={tab === "write"} onClick={() => setTab("write")}>
              Write
            </button>
            <button type="button" role="tab" aria-selected={tab === "preview"} onClick={() => setTab("preview")}>
              Preview
            </button>
          </div>
          {tab === "write" ? (
            <label className="editor-label">
              Your answer (Markdown)
              <textarea
                name="demonstration"
                value={text}
                onChange={(e) => setText(e.target.value)}
                rows={16}
                aria-describedby="save-state"
                aria-invalid={Boolean(fieldErrors.text)}
              />
            </label>
          ) : (
            <div className="preview" aria-label="Preview">
              {empty ? <p className="muted">Nothing to preview yet.</p> : <Markdown source={text} />}
            </div>
          )}
          <p id="save-state" className={save.status === "error" ? "save-state error" : "save-state"} aria-live="polite">
            {saveLabel(save)}
          </p>
          {fieldErrors.text && <Alert>{fieldErrors.text.join(" ")}</Alert>}
          {error && <Alert>{error}</Alert>}
          <div className="row">
            <button type="button" disabled={submitting || empty} onClick={() => onSubmit(text, Date.now() - startedAt)}>
              {submitting ? "Submitting…" : "Submit demonstration"}
            </button>
            <SkipForm onSkip={onSkip} disabled={submitting} />
          </div>
        </div>
      </div>
    </section>
  );
}
