/** Every screen is in exactly one of these states; components switch on `status`. */
export type Screen<T> =
  | { status: "loading" }
  | { status: "ready"; data: T }
  | { status: "empty"; message: string }
  | { status: "error"; message: string; code?: string };
