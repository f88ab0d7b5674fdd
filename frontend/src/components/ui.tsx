/** Small presentational pieces shared by the screens. */
import type { AnchorHTMLAttributes, ReactNode } from "react";
import { navigate } from "../lib/router";
import type { Screen } from "../lib/screen";

export function Link({ to, children, ...rest }: { to: string; children: ReactNode } & AnchorHTMLAttributes<HTMLAnchorElement>) {
  return (
    <a
      href={to}
      {...rest}
      onClick={(event) => {
        if (event.metaKey || event.ctrlKey || event.shiftKey || event.button !== 0) return;
        event.preventDefault();
        navigate(to);
      }}
    >
      {children}
    </a>
  );
}

export function Alert({ kind = "error", children }: { kind?: "error" | "info" | "success"; children: ReactNode }) {
  return (
    <div className={`alert alert-${kind}`} role={kind === "error" ? "alert" : "status"}>
      {children}
    </div>
  );
}

/** Renders the non-ready states of a Screen, or calls `render` with the data. */
export function ScreenView<T>({ screen, render, onRetry }: { screen: Screen<T>; render: (data: T) => ReactNode; onRetry?: () => void }) {
  switch (screen.status) {
    case "loading":
      return <p className="muted" aria-busy="true">Loading…</p>;
    case "empty":
      return <p className="empty">{screen.message}</p>;
    case "error":
      return (
        <Alert>
          {screen.message}{" "}
          {onRetry && (
            <button type="button" className="link-button" onClick={onRetry}>
              Try again
            </button>
          )}
        </Alert>
      );
    case "ready":
      return <>{render(screen.data)}</>;
  }
}

export function ProgressBar({ value, max, label }: { value: number; max: number; label: string }) {
  const pct = max > 0 ? Math.min(100, Math.round((value / max) * 100)) : 0;
  return (
    <div className="progress" role="progressbar" aria-label={label} aria-valuemin={0} aria-valuemax={max || 100} aria-valuenow={max > 0 ? value : 0}>
      <div className="progress-fill" style={{ width: `${pct}%` }} />
      <span className="progress-text">
        {value}/{max} ({pct}%)
      </span>
    </div>
  );
}

export function CodeBlock({ title, code }: { title: string; code: string }) {
  return (
    <details className="api-calls">
      <summary>{title}</summary>
      <pre>
        <code>{code}</code>
      </pre>
    </details>
  );
}

export function formatDate(value: string | null | undefined): string {
  if (!value) return "—";
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? value : date.toLocaleString();
}

/** One column of a DataTable: its header and how a row fills its cell. */
export type Column<T> = {
  header: string;
  /** Longer explanation, shown as the header's tooltip. */
  title?: string;
  className?: string;
  cell: (row: T) => ReactNode;
};

/** The list tables of the admin and ML screens: column headers with scope, one row per item,
 * horizontally scrollable on narrow screens. */
export function DataTable<T>({
  rows,
  columns,
  rowKey,
  label,
  rowTestId,
}: {
  rows: T[];
  columns: Column<T>[];
  rowKey: (row: T, index: number) => string | number;
  label?: string;
  rowTestId?: (row: T) => string;
}) {
  return (
    <div className="table-wrap">
      <table aria-label={label}>
        <thead>
          <tr>
            {columns.map((column) => (
              <th key={column.header} scope="col" title={column.title}>
                {column.header}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((row, index) => (
            <tr key={rowKey(row, index)} data-testid={rowTestId?.(row)}>
              {columns.map((column) => (
                <td key={column.header} className={column.className}>
                  {column.cell(row)}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
