import { act, cleanup, renderHook } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { useDraftAutosave } from "./useAssignment";

type Call = { url: string; method: string; body: unknown };

function stubFetch(status = 200) {
  const calls: Call[] = [];
  vi.stubGlobal(
    "fetch",
    vi.fn(async (url: string, init: RequestInit) => {
      calls.push({ url, method: init.method ?? "GET", body: init.body ? JSON.parse(String(init.body)) : null });
      const body = status === 200 ? "{}" : JSON.stringify({ error: { code: "not_authenticated", message: "Log in." } });
      return new Response(body, { status });
    }),
  );
  return calls;
}

beforeEach(() => {
  vi.useFakeTimers();
  window.localStorage.clear();
});
afterEach(() => {
  cleanup();
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

describe("draft autosave", () => {
  it("saves once after typing pauses, with the latest text", async () => {
    const calls = stubFetch();
    const { rerender, result } = renderHook(({ text }) => useDraftAutosave(7, text, "", 500), { initialProps: { text: "" } });
    rerender({ text: "H" });
    rerender({ text: "He" });
    rerender({ text: "Hello" });
    expect(calls).toHaveLength(0);
    expect(window.localStorage.getItem("rlhf:draft:7")).toBe("Hello");
    await act(async () => {
      await vi.advanceTimersByTimeAsync(600);
    });
    expect(calls).toEqual([{ url: "/api/assignments/7/draft/", method: "PUT", body: { text: "Hello" } }]);
    expect(result.current.status).toBe("saved");
    expect(window.localStorage.getItem("rlhf:draft:7")).toBeNull();
  });

  it("keeps the local copy and says why when the save fails", async () => {
    stubFetch(403);
    const { rerender, result } = renderHook(({ text }) => useDraftAutosave(8, text, "", 100), { initialProps: { text: "" } });
    rerender({ text: "unsaved words" });
    await act(async () => {
      await vi.advanceTimersByTimeAsync(200);
    });
    expect(result.current.status).toBe("error");
    expect(window.localStorage.getItem("rlhf:draft:8")).toBe("unsaved words");
  });
});
