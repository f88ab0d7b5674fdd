import { useCallback, useEffect, useMemo, useRef, useState, type DragEvent, type KeyboardEvent } from "react";
import { FLAGS, type Assignment, type Flag, type RankingSubmit } from "../api/types";
import {
  clearRank,
  describeOrder,
  emptyDraft,
  keyAction,
  placeAt,
  toOrder,
  toSubmitBody,
  toggleFlag,
  validateRanking,
  type RankingDraft,
  type RankingProblem,
} from "../lib/ranking";
import { Markdown } from "../lib/markdown";
import { Alert } from "./ui";
import { SkipForm } from "./SkipForm";

const COLLAPSE_AT = 700;
const ORDINAL = ["1st", "2nd", "3rd", "4th", "5th", "6th", "7th", "8th", "9th"];

export function RankingView({
  assignment,
  startedAt,
  submitting,
  error,
  onSubmit,
  onSkip,
}: {
  assignment: Assignment;
  startedAt: number;
  submitting: boolean;
  error: string | null;
  onSubmit: (body: RankingSubmit) => void;
  onSkip: (reason: string) => void;
}) {
  const samples = assignment.samples;
  const ids = useMemo(() => samples.map((s) => s.id), [samples]);
  const k = samples.length;
  const labelOf = useCallback((id: number) => samples.find((s) => s.id === id)?.label ?? String(id), [samples]);
  const [draft, setDraft] = useState<RankingDraft>(() => emptyDraft(ids));
  const [problems, setProblems] = useState<RankingProblem[]>([]);
  const cardRefs = useRef<(HTMLElement | null)[]>([]);
  const order = toOrder(ids, draft.ranks);

  const trySubmit = useCallback(() => {
    const found = validateRanking(ids, draft, labelOf);
    setProblems(found);
    if (found.length === 0) onSubmit(toSubmitBody(ids, draft, Date.now() - startedAt));
  }, [ids, draft, labelOf, onSubmit, startedAt]);

  useEffect(() => {
    const onKey = (event: globalThis.KeyboardEvent) => {
      if (event.key === "Enter" && event.shiftKey && !(event.target instanceof HTMLTextAreaElement)) {
        event.preventDefault();
        if (!submitting) trySubmit();
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [trySubmit, submitting]);

  const place = (id: number, rank: number | null) => {
    setDraft((d) => ({ ...d, ranks: rank == null ? clearRank(d.ranks, id) : placeAt(d.ranks, id, rank, k) }));
    setProblems([]);
  };

  const onCardKey = (event: KeyboardEvent<HTMLElement>, index: number, id: number) => {
    if (event.target !== event.currentTarget || event.altKey || event.ctrlKey || event.metaKey) return;
    if (event.key === "ArrowRight" || event.key === "ArrowDown") {
      event.preventDefault();
      cardRefs.current[(index + 1) % k]?.focus();
      return;
    }
    if (event.key === "ArrowLeft" || event.key === "ArrowUp") {
      event.preventDefault();
      cardRefs.current[(index - 1 + k) % k]?.focus();
      return;
    }
    const action = keyAction(event.key, k);
    if (action.type === "place") {
      event.preventDefault();
      place(id, action.rank);
    } else if (action.type === "clear") {
      event.preventDefault();
      place(id, null);
    }
  };

  const onDragStart = (event: DragEvent, id: number) => {
    event.dataTransfer.setData("text/plain", String(id));
    event.dataTransfer.effectAllowed = "move";
  };
  const onDrop = (event: DragEvent, rank: number | null) => {
    event.preventDefault();
    const id = Number(event.dataTransfer.getData("text/plain"));
    if (ids.includes(id)) place(id, rank);
  };
  const allowDrop = (event: DragEvent) => event.preventDefault();

  const problemFor = (id: number) => problems.filter((p) => p.sampleId === id).map((p) => p.message);

  return (
    <section className="ranking" aria-labelledby="rank-title">
      <h1 id="rank-title">Rank the answers</h1>
      <div className="prompt-box">
        <h2>Prompt</h2>
        <div className="prompt-text" data-testid="prompt-text">
          {assignment.prompt.text}
        </div>
        <details className="guidelines">
          <summary>Guidelines</summary>
          <Markdown source={assignment.guidelines || "No guidelines for this project."} />
        </details>
      </div>
      <p className="hint" id="rank-help">
        Focus an answer (Tab or arrow keys) and press 1–{k} to give it a rank; the same number twice is a tie; 0 clears.
        Drag answers onto the ladder if you prefer the mouse. Shift+Enter submits.
      </p>

      <div className="ladder" aria-label="Your ranking">
        <p className="order-summary" aria-live="polite" data-testid="order-summary">
          Order: {order.length ? describeOrder(order, labelOf) : "nothing ranked yet"}
        </p>
        {Array.from({ length: k }, (_, i) => i + 1).map((rank) => (
          <div key={rank} className="rung" onDragOver={allowDrop} onDrop={(e) => onDrop(e, rank)} data-rank={rank}>
            <span className="rung-label">{ORDINAL[rank - 1] ?? `${rank}th`}</span>
            {ids
              .filter((id) => draft.ranks[id] === rank)
              .map((id) => (
                <span key={id} className="chip" draggable onDragStart={(e) => onDragStart(e, id)}>
                  {labelOf(id)}
                </span>
              ))}
          </div>
        ))}
        <div className="rung unranked" onDragOver={allowDrop} onDrop={(e) => onDrop(e, null)}>
          <span className="rung-label">Unranked</span>
          {ids
            .filter((id) => draft.ranks[id] == null)
            .map((id) => (
              <span key={id} className="chip" draggable onDragStart={(e) => onDragStart(e, id)}>
                {labelOf(id)}
              </span>
            ))}
        </div>
      </div>

      <div className="samples">
        {samples.map((sample, index) => {
          const rank = draft.ranks[sample.id];
          const messages = problemFor(sample.id);
          return (
            <article
              key={sample.id}
              ref={(el) => {
                cardRefs.current[index] = el;
              }}
              className={`sample${rank != null ? " ranked" : ""}`}
              tabIndex={0}
              draggable
              onDragStart={(e) => onDragStart(e, sample.id)}
              onKeyDown={(e) => onCardKey(e, index, sample.id)}
              aria-label={`Answer ${sample.label}, ${rank != null ? `ranked ${ORDINAL[rank - 1] ?? rank}` : "not ranked"}`}
              aria-describedby="rank-help"
              data-testid={`sample-${sample.label}`}
            >
              <header className="sample-head">
                <h3>Answer {sample.label}</h3>
                <span className="rank-badge" aria-hidden="true">
                  {rank != null ? ORDINAL[rank - 1] ?? rank : "–"}
                </span>
              </header>
              <SampleText text={sample.text} label={sample.label} />
              <div className="sample-controls">
                <label>
                  Rank for {sample.label}
                  <select value={rank ?? ""} onChange={(e) => place(sample.id, e.target.value ? Number(e.target.value) : null)}>
                    <option value="">—</option>
                    {Array.from({ length: k }, (_, i) => (
                      <option key={i + 1} value={i + 1}>
                        {ORDINAL[i] ?? i + 1}
                      </option>
                    ))}
                  </select>
                </label>
                <label>
                  Score for {sample.label} (1–7)
                  <select
                    value={draft.scores[sample.id] ?? ""}
                    aria-invalid={messages.some((m) => m.includes("score"))}
                    onChange={(e) => {
                      const value = e.target.value ? Number(e.target.value) : null;
                      setDraft((d) => ({ ...d, scores: { ...d.scores, [sample.id]: value } }));
                      setProblems([]);
                    }}
                  >
                    <option value="">—</option>
                    {[1, 2, 3, 4, 5, 6, 7].map((v) => (
                      <option key={v} value={v}>
                        {v}
                      </option>
                    ))}
                  </select>
                </label>
                <fieldset className="flags">
                  <legend>Flags for {sample.label}</legend>
                  {FLAGS.map(([flag, text]) => (
                    <label key={flag} className="check">
                      <input
                        type="checkbox"
                        checked={(draft.flags[sample.id] ?? []).includes(flag)}
                        onChange={() =>
                          setDraft((d) => ({ ...d, flags: { ...d.flags, [sample.id]: toggleFlag(d.flags[sample.id] ?? [], flag as Flag) } }))
                        }
                      />
                      {text}
                    </label>
                  ))}
                </fieldset>
              </div>
              {messages.length > 0 && (
                <p className="field-error" role="alert">
                  {messages.join(" ")}
                </p>
              )}
            </article>
          );
        })}
      </div>

      <label className="check none-acceptable">
        <input type="checkbox" checked={draft.noneAcceptable} onChange={(e) => setDraft((d) => ({ ...d, noneAcceptable: e.target.checked }))} />
        None of these answers is acceptable
      </label>
      {problems.some((p) => p.sampleId == null) && <Alert>{problems.filter((p) => p.sampleId == null).map((p) => p.message).join(" ")}</Alert>}
      {problems.length > 0 && <Alert>Fix {problems.length} problem{problems.length === 1 ? "" : "s"} before submitting.</Alert>}
      {error && <Alert>{error}</Alert>}
      <div className="row">
        <button type="button" onClick={trySubmit} disabled={submitting}>
          {submitting ? "Submitting…" : "Submit ranking (Shift+Enter)"}
        </button>
        <SkipForm onSkip={onSkip} disabled={submitting} />
      </div>
    </section>
  );
}

function SampleText({ text, label }: { text: string; label: string }) {
  const long = text.length > COLLAPSE_AT;
  const [expanded, setExpanded] = useState(false);
  const shown = long && !expanded ? `${text.slice(0, COLLAPSE_AT)}…` : text;
  return (
    <div className="sample-body">
      <div className="sample-text">{shown}</div>
      {long && (
        <button type="button" className="link-button" aria-expanded={expanded} onClick={() => setExpanded((v) => !v)}>
          {expanded ? `Collapse answer ${label}` : `Show all of answer ${label}`}
        </button>
      )}
    </div>
  );
}
