import { cleanup, fireEvent, render, screen } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Assignment, RankingSubmit } from "../api/types";
import { RankingView } from "./RankingView";

const assignment: Assignment = {
  id: 5,
  kind: "ranking",
  status: "active",
  project: "p",
  expires_at: new Date(Date.now() + 600_000).toISOString(),
  prompt: { id: 1, text: "Pick the best", category: "other" },
  samples: [
    { id: 31, label: "A", text: "first" },
    { id: 32, label: "B", text: "second" },
    { id: 33, label: "C", text: "x".repeat(900) },
    { id: 34, label: "D", text: "fourth" },
  ],
  draft: "",
  draft_saved_at: null,
  guidelines: "",
};

function setup() {
  const onSubmit = vi.fn<(body: RankingSubmit) => void>();
  render(<RankingView assignment={assignment} startedAt={Date.now()} submitting={false} error={null} onSubmit={onSubmit} onSkip={() => {}} />);
  return onSubmit;
}

afterEach(cleanup);

describe("RankingView keyboard", () => {
  it("places focused samples with number keys, ties included, and submits with Shift+Enter", () => {
    const onSubmit = setup();
    const keys: Record<string, string> = { A: "2", B: "1", C: "2", D: "4" };
    for (const label of "ABCD") fireEvent.keyDown(screen.getByTestId(`sample-${label}`), { key: keys[label] });
    expect(screen.getByTestId("order-summary").textContent).toBe("Order: B > A = C > D");
    for (const label of "ABCD") fireEvent.change(screen.getByLabelText(`Score for ${label} (1–7)`), { target: { value: "4" } });
    fireEvent.keyDown(window, { key: "Enter", shiftKey: true });
    expect(onSubmit).toHaveBeenCalledTimes(1);
    expect(onSubmit.mock.calls[0][0].order).toEqual([[32], [31, 33], [34]]);
  });

  it("ignores keys above K, clears with 0, and blocks an incomplete submit with messages", () => {
    const onSubmit = setup();
    const a = screen.getByTestId("sample-A");
    fireEvent.keyDown(a, { key: "9" });
    expect(screen.getByTestId("order-summary").textContent).toBe("Order: nothing ranked yet");
    fireEvent.keyDown(a, { key: "1" });
    fireEvent.keyDown(a, { key: "0" });
    fireEvent.keyDown(a, { key: "3" });
    expect(screen.getByTestId("order-summary").textContent).toBe("Order: A");
    fireEvent.keyDown(window, { key: "Enter", shiftKey: true });
    expect(onSubmit).not.toHaveBeenCalled();
    expect(screen.getByText(/Give B a rank\./)).toBeTruthy();
  });

  it("moves focus between samples with arrow keys and collapses long samples", () => {
    setup();
    const a = screen.getByTestId("sample-A");
    a.focus();
    fireEvent.keyDown(a, { key: "ArrowRight" });
    expect(document.activeElement).toBe(screen.getByTestId("sample-B"));
    const toggle = screen.getByRole("button", { name: "Show all of answer C" });
    expect(screen.getByTestId("sample-C").textContent).not.toContain("x".repeat(900));
    fireEvent.click(toggle);
    expect(screen.getByTestId("sample-C").textContent).toContain("x".repeat(900));
  });
});
