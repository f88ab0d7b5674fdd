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
  it("renders pipe tables with alignment, escaped pipes and ragged rows", () => {
    const source = [
      "Before the table.",
      "| metric | value |",
      "|:---|---:|",
      "| eval_loss | 1.234 |",
      "| a \\| b | **2** | extra |",
      "| short |",
      "",
      "After.",
    ].join("\n");
    const { container } = render(<Markdown source={source} />);
    const headers = [...container.querySelectorAll("th")].map((th) => th.textContent);
    expect(headers).toEqual(["metric", "value"]);
    const rows = [...container.querySelectorAll("tbody tr")].map((tr) => [...tr.querySelectorAll("td")].map((td) => td.textContent));
    expect(rows).toEqual([["eval_loss", "1.234"], ["a | b", "2"], ["short", ""]]);
    expect(container.querySelector("td strong")?.textContent).toBe("2");
    expect((container.querySelector("th") as HTMLElement).style.textAlign).toBe("left");
    expect((container.querySelectorAll("td")[1] as HTMLElement).style.textAlign).toBe("right");
    expect([...container.querySelectorAll("p")].map((p) => p.textContent)).toEqual(["Before the table.", "After."]);
  });
  it("keeps markup in table cells as text and leaves lone pipes in paragraphs alone", () => {
    const { container } = render(<Markdown source={"| <img src=x onerror=alert(1)> |\n|---|\n| <script>x</script> |\n\nyes | no\nmaybe"} />);
    expect(container.querySelector("img")).toBeNull();
    expect(container.querySelector("script")).toBeNull();
    expect(container.querySelector("th")?.textContent).toBe("<img src=x onerror=alert(1)>");
    expect(container.querySelectorAll("table")).toHaveLength(1);
    expect(container.querySelector("p")?.textContent).toBe("yes | nomaybe");
  });
});
