import { useEffect } from "react";
import type { TaskKind } from "../api/types";
import { Alert, Link } from "../components/ui";
import { DemonstrationView } from "../components/DemonstrationView";
import { RankingView } from "../components/RankingView";
import { useAssignment } from "../hooks/useAssignment";

export function LabelPage({ slug, kind }: { slug: string; kind?: TaskKind }) {
  const { screen, loadNext, submit, skip, submitting, actionError, fieldErrors } = useAssignment(slug, kind);
  const receivedAt = screen.status === "ready" ? screen.receivedAt : null;
  useEffect(() => {
    // Time from the API's answer to the task on screen; the browser tests hold it under 200 ms.
    if (receivedAt != null) document.body.dataset.taskRenderMs = String(Math.round(performance.now() - receivedAt));
  }, [receivedAt]);
  switch (screen.status) {
    case "loading":
      return <p className="muted" aria-busy="true">Fetching your next task…</p>;
    case "empty":
      return (
        <section>
          <h1>Nothing to do</h1>
          <Alert kind="info">{screen.message}</Alert>
          <div className="row">
            <button type="button" onClick={() => void loadNext()}>
              Check again
            </button>
            <Link className="button secondary" to="/">
              Back to projects
            </Link>
          </div>
        </section>
      );
    case "error":
      return (
        <section>
          <h1>Task unavailable</h1>
          <Alert>{screen.message}</Alert>
          <div className="row">
            <button type="button" onClick={() => void loadNext()}>
              Load the next task
            </button>
            <Link className="button secondary" to="/">
              Back to projects
            </Link>
          </div>
        </section>
      );
    case "ready": {
      const { assignment, startedAt } = screen;
      return assignment.kind === "demonstration" ? (
        <DemonstrationView
          key={assignment.id}
          assignment={assignment}
          startedAt={startedAt}
          submitting={submitting}
          error={actionError}
          fieldErrors={fieldErrors}
          onSubmit={(text, ms) => submit({ text, time_spent_ms: ms })}
          onSkip={skip}
        />
      ) : (
        <RankingView
          key={assignment.id}
          assignment={assignment}
          startedAt={startedAt}
          submitting={submitting}
          error={actionError}
          onSubmit={(body) => submit(body)}
          onSkip={skip}
        />
      );
    }
  }
}
