import { describe, expect, it } from "vitest";
import { waiting } from "./HomePage";

describe("waiting", () => {
  it("shows counts as they are below the API's cap, and the cap as a floor", () => {
    expect(waiting(0)).toBe("0");
    expect(waiting(999)).toBe("999");
    expect(waiting(1000)).toBe("1,000+");
  });
});
