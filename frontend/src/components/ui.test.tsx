import { render } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { DataTable } from "./ui";

describe("DataTable", () => {
  it("renders scoped headers with their tooltips and one row per item, cells as text", () => {
    const rows = [
      { id: 1, name: "<b>ada</b>", n: 3 },
      { id: 2, name: "lin", n: 0 },
    ];
    const { container } = render(
      <DataTable
        label="People"
        rows={rows}
        rowKey={(r) => r.id}
        rowTestId={(r) => `person-${r.id}`}
        columns={[
          { header: "Name", cell: (r) => r.name },
          { header: "Count", title: "How many", className: "num", cell: (r) => r.n },
        ]}
      />,
    );
    const headers = [...container.querySelectorAll("th")];
    expect(headers.map((th) => [th.textContent, th.getAttribute("scope"), th.getAttribute("title")])).toEqual([
      ["Name", "col", null],
      ["Count", "col", "How many"],
    ]);
    expect(container.querySelector("table")?.getAttribute("aria-label")).toBe("People");
    const body = [...container.querySelectorAll("tbody tr")].map((tr) => [tr.getAttribute("data-testid"), ...[...tr.children].map((td) => td.textContent)]);
    expect(body).toEqual([
      ["person-1", "<b>ada</b>", "3"],
      ["person-2", "lin", "0"],
    ]);
    expect(container.querySelector("b")).toBeNull();
    expect(container.querySelector("td.num")?.textContent).toBe("3");
  });
});
