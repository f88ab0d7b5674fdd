import { describe, expect, it } from "vitest";
import { ApiError, describeError, parseErrorBody } from "./client";

describe("API errors", () => {
  it("reads the server's error shape", () => {
    const body = parseErrorBody(400, { error: { code: "invalid", message: "Bad input.", fields: { k: ["Too big."] } } });
    expect(body).toEqual({ code: "invalid", message: "Bad input.", fields: { k: ["Too big."] }, details: undefined });
    expect(describeError(new ApiError(400, body))).toBe("Bad input. (k: Too big.)");
  });
  it("treats details.field as a field error without repeating the message", () => {
    const err = new ApiError(400, parseErrorBody(400, { error: { code: "invalid", message: "text must not be empty.", details: { field: "text" } } }));
    expect(err.fields).toEqual({ text: ["text must not be empty."] });
    expect(describeError(err)).toBe("text must not be empty.");
  });
  it("falls back to a sentence for bodies that are not the error shape", () => {
    expect(parseErrorBody(403, { detail: "Nope." }).message).toBe("Nope.");
    expect(parseErrorBody(502, null)).toEqual({ code: "http_502", message: "The server is unreachable." });
  });
});
