/**
 * Ranking logic, kept pure so it is tested without a browser. A labeler gives each sample a
 * rank 1..K (1 = best); equal ranks are ties. The API wants groups of sample ids, best first.
 */

import type { Flag } from "../api/types";

export type Ranks = Readonly<Record<number, number | null>>;

export type RankingDraft = {
  ranks: Ranks;
  scores: Readonly<Record<number, number | null>>;
  flags: Readonly<Record<number, readonly Flag[]>>;
  noneAcceptable: boolean;
};

export function emptyDraft(sampleIds: readonly number[]): RankingDraft {
  const ranks: Record<number, number | null> = {};
  const scores: Record<number, number | null> = {};
  const flags: Record<number, Flag[]> = {};
  for (const id of sampleIds) {
    ranks[id] = null;
    scores[id] = null;
    flags[id] = [];
  }
  return { ranks, scores, flags, noneAcceptable: false };
}

/** Puts a sample at a rank; several samples may share a rank (a tie). Out-of-range ranks are ignored. */
export function placeAt(ranks: Ranks, sampleId: number, rank: number, k: number): Ranks {
  if (!(sampleId in ranks) || !Number.isInteger(rank) || rank < 1 || rank > k) return ranks;
  return { ...ranks, [sampleId]: rank };
}

export function clearRank(ranks: Ranks, sampleId: number): Ranks {
  if (!(sampleId in ranks)) return ranks;
  return { ...ranks, [sampleId]: null };
}

/** What a key press on a focused sample means: place at a rank, clear, or nothing. */
export type KeyAction = { type: "place"; rank: number } | { type: "clear" } | { type: "none" };

export function keyAction(key: string, k: number): KeyAction {
  if (/^[1-9]$/.test(key)) {
    const rank = Number(key);
    return rank <= k ? { type: "place", rank } : { type: "none" };
  }
  if (key === "0" || key === "Backspace" || key === "Delete") return { type: "clear" };
  return { type: "none" };
}

/**
 * Groups of sample ids, best first. Gaps in the ranks (1, 3) collapse, so the order only says
 * what is better than what; within a tie the served order is kept.
 */
export function toOrder(servedIds: readonly number[], ranks: Ranks): number[][] {
  const byRank = new Map<number, number[]>();
  for (const id of servedIds) {
    const rank = ranks[id];
    if (rank == null) continue;
    const group = byRank.get(rank) ?? [];
    group.push(id);
    byRank.set(rank, group);
  }
  return [...byRank.entries()].sort((a, b) => a[0] - b[0]).map(([, ids]) => ids);
}

/** "A = C > B > D" for the order so far; unranked samples are left out. */
export function describeOrder(order: number[][], labelOf: (id: number) => string): string {
  return order.map((group) => group.map(labelOf).join(" = ")).join(" > ");
}

export type RankingProblem = { sampleId: number | null; message: string };

/** Everything that stops a submit, phrased for the labeler; empty when the ranking can be sent. */
export function validateRanking(
  servedIds: readonly number[],
  draft: RankingDraft,
  labelOf: (id: number) => string,
): RankingProblem[] {
  const problems: RankingProblem[] = [];
  for (const id of servedIds) {
    if (draft.ranks[id] == null) problems.push({ sampleId: id, message: `Give ${labelOf(id)} a rank.` });
  }
  for (const id of servedIds) {
    const score = draft.scores[id];
    if (score == null) problems.push({ sampleId: id, message: `Give ${labelOf(id)} a score from 1 to 7.` });
    else if (!Number.isInteger(score) || score < 1 || score > 7)
      problems.push({ sampleId: id, message: `${labelOf(id)}'s score must be from 1 to 7.` });
  }
  if (servedIds.length > 1 && problems.length === 0) {
    const order = toOrder(servedIds, draft.ranks);
    if (order.length === 1 && !draft.noneAcceptable) {
      problems.push({
        sampleId: null,
        message: "All samples are tied. Rank at least one above another, or mark none as acceptable.",
      });
    }
  }
  return problems;
}

/** The submit body the API expects. Call only after validateRanking found nothing. */
export function toSubmitBody(servedIds: readonly number[], draft: RankingDraft, timeSpentMs: number) {
  const scores: Record<string, number> = {};
  const flags: Record<string, Flag[]> = {};
  for (const id of servedIds) {
    const score = draft.scores[id];
    if (score != null) scores[String(id)] = score;
    flags[String(id)] = [...(draft.flags[id] ?? [])];
  }
  return {
    order: toOrder(servedIds, draft.ranks),
    scores,
    flags,
    none_acceptable: draft.noneAcceptable,
    time_spent_ms: Math.max(0, Math.round(timeSpentMs)),
  };
}

export function toggleFlag(flags: readonly Flag[], flag: Flag): Flag[] {
  return flags.includes(flag) ? flags.filter((f) => f !== flag) : [...flags, flag];
}
