import { describe, expect, it } from "vitest";
import { clearRank, describeOrder, emptyDraft, keyAction, placeAt, toOrder, toSubmitBody, toggleFlag, validateRanking, type RankingDraft } from "./ranking";

const ids = [11, 12, 13, 14];
const labels: Record<number, string> = { 11: "A", 12: "B", 13: "C", 14: "D" };
const labelOf = (id: number) => labels[id];

function ranked(ranks: Record<number, number | null>, scores: Record<number, number | null> = { 11: 5, 12: 4, 13: 3, 14: 2 }): RankingDraft {
  return { ...emptyDraft(ids), ranks, scores };
}

describe("keyboard placement", () => {
  it("maps number keys up to K to ranks", () => {
    expect(keyAction("1", 4)).toEqual({ type: "place", rank: 1 });
    expect(keyAction("4", 4)).toEqual({ type: "place", rank: 4 });
  });
  it("ignores number keys above K and other keys", () => {
    expect(keyAction("5", 4)).toEqual({ type: "none" });
    expect(keyAction("a", 4)).toEqual({ type: "none" });
    expect(keyAction("Enter", 4)).toEqual({ type: "none" });
  });
  it("clears with 0, Backspace and Delete", () => {
    for (const key of ["0", "Backspace", "Delete"]) expect(keyAction(key, 4)).toEqual({ type: "clear" });
  });
  it("places and re-places a sample", () => {
    let ranks = emptyDraft(ids).ranks;
    ranks = placeAt(ranks, 12, 1, 4);
    ranks = placeAt(ranks, 12, 3, 4);
    expect(ranks[12]).toBe(3);
    expect(clearRank(ranks, 12)[12]).toBeNull();
  });
  it("rejects ranks outside 1..K and unknown samples without changing state", () => {
    const ranks = emptyDraft(ids).ranks;
    expect(placeAt(ranks, 11, 0, 4)).toBe(ranks);
    expect(placeAt(ranks, 11, 5, 4)).toBe(ranks);
    expect(placeAt(ranks, 99, 1, 4)).toBe(ranks);
  });
});

describe("order with ties", () => {
  it("groups equal ranks, best first, served order inside a tie", () => {
    const order = toOrder(ids, { 11: 2, 12: 1, 13: 2, 14: 3 });
    expect(order).toEqual([[12], [11, 13], [14]]);
    expect(describeOrder(order, labelOf)).toBe("B > A = C > D");
  });
  it("collapses gaps between ranks", () => {
    expect(toOrder(ids, { 11: 4, 12: 1, 13: 1, 14: 4 })).toEqual([[12, 13], [11, 14]]);
  });
  it("leaves unranked samples out", () => {
    expect(toOrder(ids, { 11: 1, 12: null, 13: null, 14: null })).toEqual([[11]]);
  });
});

describe("validation", () => {
  it("accepts a full ranking with scores", () => {
    expect(validateRanking(ids, ranked({ 11: 1, 12: 2, 13: 3, 14: 4 }), labelOf)).toEqual([]);
  });
  it("names every unranked sample", () => {
    const problems = validateRanking(ids, ranked({ 11: 1, 12: null, 13: 2, 14: null }), labelOf);
    expect(problems.map((p) => p.message)).toEqual(["Give B a rank.", "Give D a rank."]);
  });
  it("requires a 1-7 score per sample", () => {
    const problems = validateRanking(ids, ranked({ 11: 1, 12: 2, 13: 3, 14: 4 }, { 11: 5, 12: null, 13: 8, 14: 1 }), labelOf);
    expect(problems.map((p) => p.sampleId)).toEqual([12, 13]);
  });
  it("refuses an all-tied ranking unless none is acceptable", () => {
    const tied = ranked({ 11: 1, 12: 1, 13: 1, 14: 1 });
    expect(validateRanking(ids, tied, labelOf)).toHaveLength(1);
    expect(validateRanking(ids, { ...tied, noneAcceptable: true }, labelOf)).toEqual([]);
  });
  it("allows partial ties", () => {
    expect(validateRanking(ids, ranked({ 11: 1, 12: 1, 13: 2, 14: 2 }), labelOf)).toEqual([]);
  });
});

describe("submit body", () => {
  it("has the API's shape with string keys", () => {
    const draft = { ...ranked({ 11: 2, 12: 1, 13: 2, 14: 3 }), flags: { 11: [], 12: ["hallucination" as const], 13: [], 14: [] } };
    const body = toSubmitBody(ids, draft, 1234.4);
    expect(body).toEqual({
      order: [[12], [11, 13], [14]],
      scores: { "11": 5, "12": 4, "13": 3, "14": 2 },
      flags: { "11": [], "12": ["hallucination"], "13": [], "14": [] },
      none_acceptable: false,
      time_spent_ms: 1234,
    });
  });
  it("toggles flags", () => {
    expect(toggleFlag([], "sexual")).toEqual(["sexual"]);
    expect(toggleFlag(["sexual", "violent"], "sexual")).toEqual(["violent"]);
  });
});
