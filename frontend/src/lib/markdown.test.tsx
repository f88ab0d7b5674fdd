import { render } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { Markdown } from "./markdown";

describe("Markdown", () => {
  it("shows HTML and script payloads as literal text", () => {
    const payload = '<script>window.__xss=1</script> <img src=x onerror="window.__xss=1">';
    const { container } = render(<Markdown source={payload} />);
    expect(container.querySelector("script")).toBeNull();
    expect(container.querySelector("img")).toBeNull();
    expect(container.textContent).toContain(payload);
  });
  it("renders basic markup as elements", () => {
    const { container } = render(<Markdown source={"# Title\n\n- one **bold**\n- two\n\n```\ncode <b>\n```"} />);
    expect(container.querySelector("h3")?.textContent).toBe("Title");
    expect(container.querySelectorAll("li")).toHaveLength(2);
    expect(container.querySelector("strong")?.textContent).toBe("bold");
    expect(container.querySelector("pre code")?.textContent).toBe("code <b>");
  });
  it("keeps only http(s) and mailto links", () => {
    const { container } = render(<Markdown source={"[ok](https://example.org) [bad](javascript:alert(1))"} />);
    const links = container.querySelectorAll("a");
    expect(links).toHaveLength(1);
    expect(links[0].getAttribute("href")).toBe("https://example.org");
    expect(container.textContent).toContain("[bad](javascript:alert(1))");
  });
});
